"""Demo cases: cases in every state of the workflow, made only through the real services.

`demo_cases_seed` reports each case through `case_create` and walks it along a path of
`case_transition` calls (and the joint-handling task services), each step taken by the demo
user who holds the right role over that case — the grid worker of its grid, the dispatcher
of its street, the staff of the unit it was dispatched to, the supervisor, the hotline — so
every case has a believable timeline and nothing is written behind the services' back.

Time: each case's steps pass `now=` from a start a few working days back, so deadlines that
start early have already passed (the worker's deadline sweep turns them red and escalates
them), while fresh cases fall due within the next working day (yellow). Only the deadline
fields move back in time; the timeline rows carry the time of seeding.

Deterministic per seed: the same categories, places, channels, texts, paths and end states
(tracking codes and times differ). Texts and reasons: `gridlink.demo.case_texts`.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import sys
from collections import Counter
from typing import Any

from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw
from tqdm import tqdm

from gridlink.accounts.models import RoleAssignment, User
from gridlink.accounts.roles import Role
from gridlink.cases.models import (
    OPEN_STATES,
    Case,
    CaseTask,
    Category,
    Channel,
    HandlingLevel,
    Satisfaction,
)
from gridlink.cases.routing import route_for
from gridlink.cases.selectors import taxonomy_current
from gridlink.cases.services.hotline import HotlineOrder, hotline_order_enter
from gridlink.cases.services.intake import Report, case_create, photo_upload
from gridlink.cases.services.joint import task_complete, task_rate, task_report_in
from gridlink.cases.services.transitions import case_transition
from gridlink.cases.workflow import State
from gridlink.core.errors import DomainError
from gridlink.core.worktime import calendar_load
from gridlink.demo import case_texts as texts
from gridlink.demo.case_texts import CategoryScript
from gridlink.demo.plan.tables import random_mobile, random_person_name
from gridlink.geo.locator import locator
from gridlink.geo.models import Area, Department, Level
from gridlink.open311.services import DEMO_KEY_ID
from gridlink.registry.models import Building

S = State
# How many cases end in each state; the three joint cases come on top. Each transition
# costs the services 10-25 ms (SQLite), so ~400 of them keep the seed to seconds.
TARGETS: dict[State, int] = {
    S.REPORTED: 5, S.ACCEPTED: 2, S.INVALID: 2, S.MERGED: 2, S.FILED: 3, S.DISPATCHED: 6,
    S.RETURNED: 2, S.ESCALATED: 3, S.SIGNED: 4, S.IN_PROGRESS: 6, S.EXTENSION_REQUESTED: 2,
    S.EXTENSION_ENDORSED: 2, S.EXTENDED: 1, S.SUSPENSION_REQUESTED: 1,
    S.SUSPENSION_ENDORSED: 2, S.SUSPENDED: 2, S.HANDLED: 2, S.VERIFYING: 2,
    S.VERIFIED: 2, S.REWORK: 2, S.CLOSED: 5, S.EVALUATED: 8, S.REOPENED: 2,
}  # fmt: skip
CHANNEL_WEIGHTS = {
    Channel.RESIDENT_WEB: 30, Channel.GRID_PATROL: 30, Channel.HOTLINE: 20, Channel.OPEN311: 4,
    Channel.HIGHER_AUTHORITY: 5, Channel.SENSOR: 6, Channel.MEDIA: 5,
}  # fmt: skip
PUBLIC_PER_CLIENT = 15  # below GRIDLINK_INTAKE_RATE_PER_HOUR (20): one client, one hour
SUPERVISED_SHARE = 0.15
_WORK = ["dispatch", "sign_for", "start_handling"]
_VERIFIED = [*_WORK, "submit_result", "send_for_verification", "verify_pass"]


class DemoCasesUnavailable(RuntimeError):
    """No published taxonomy, or no demo district (buildings and staff) to put cases in."""


def demo_cases_seed(*, seed: int = 1, progress: bool = False) -> dict[str, int]:
    """Create the demo cases unless any case exists; return the number of cases per state
    (empty when nothing was done)."""
    if Case.objects.exists():
        return {}
    if taxonomy_current() is None:
        raise DemoCasesUnavailable("no published taxonomy: run `gridlink taxonomy load --publish`")
    locator.invalidate()  # the areas may be minutes old
    with transaction.atomic():
        cases = _Seeder(seed=seed, progress=progress).run()
    states = Counter(c.state for c in Case.objects.filter(pk__in=[c.pk for c in cases]))
    return {str(s): states[s] for s in State if states[s]}


def demo_cases_line(counts: dict[str, int], seconds: float) -> str:
    """One line for the seed commands: how many cases, in how long, per state."""
    by_state = ", ".join(f"{n} {state}" for state, n in counts.items())
    return f"Seeded {sum(counts.values())} demo cases in {seconds:.1f} s: {by_state}."


def _path(target: State, *, patrol: bool, on_the_spot: bool, rng: random.Random) -> list[str]:
    """The steps after intake that bring a new case to `target`, with some detours."""
    head = ["file_directly"] if patrol else ["accept", "file"]
    closed = [*head, *_VERIFIED, "close"]
    if on_the_spot:  # a grid worker solves it at once and a supervisor checks
        closed = ["handle_on_the_spot", "send_for_verification", "verify_pass", "close"]
    returned = rng.choice([[], [], ["return_not_our_duty", "reject_return"]])
    paused = rng.choice(
        [[], [], ["request_suspension", "endorse_suspension", "approve_suspension", "resume"],
         ["request_extension", "deny_extension"]]
    )  # fmt: skip
    redone = [*head, *_WORK, "submit_result", "send_for_verification", "verify_fail",
              "submit_result", "send_for_verification", "verify_pass", "close"]  # fmt: skip
    if rng.random() < 0.3 and not on_the_spot:
        closed = redone
    paths: dict[State, list[str]] = {
        S.REPORTED: [],
        S.ACCEPTED: ["accept"],
        S.INVALID: rng.choice([["invalidate"], ["accept", "invalidate"]]),
        S.MERGED: ["merge"],
        S.FILED: head,
        S.DISPATCHED: [*head, "dispatch", *returned],
        S.RETURNED: [*head, "dispatch", "return_not_our_duty"],
        S.ESCALATED: [*head, "escalate"] if patrol else [*head, "dispatch", "escalate"],
        S.SIGNED: [*head, "dispatch", "sign_for"],
        S.IN_PROGRESS: [*head, *_WORK, *paused],
        S.EXTENSION_REQUESTED: [*head, *_WORK, "request_extension"],
        S.EXTENSION_ENDORSED: [*head, *_WORK, "request_extension", "endorse_extension"],
        S.EXTENDED: [*head, *_WORK, "request_extension", "endorse_extension", "approve_extension"],
        S.SUSPENSION_REQUESTED: [*head, *_WORK, "request_suspension"],
        S.SUSPENSION_ENDORSED: [*head, *_WORK, "request_suspension", "endorse_suspension"],
        S.SUSPENDED: [
            *head,
            *_WORK,
            "request_suspension",
            "endorse_suspension",
            "approve_suspension",
        ],
        S.HANDLED: closed[: closed.index("send_for_verification")],
        S.VERIFYING: closed[: closed.index("send_for_verification") + 1],
        S.VERIFIED: closed[:-1],
        S.REWORK: [*closed[: closed.index("send_for_verification") + 1], "verify_fail"],
        S.CLOSED: closed,
        S.EVALUATED: [*closed, "rate"],
        S.REOPENED: [*closed, rng.choice(["rate_dissatisfied", "reopen"])],
    }
    return paths[target]


# Dissatisfied twice (the first of the reopened cases): the second rating opens a
# supervision order automatically (督办).
_TWICE_DISSATISFIED = [
    "rate_dissatisfied", "start_handling", "submit_result", "send_for_verification",
    "verify_pass", "close", "rate_dissatisfied",
]  # fmt: skip


class _Staff:
    """The demo users by role and scope; `over` finds the nearest one for an area."""

    def __init__(self) -> None:
        self.by_area: dict[str, list[tuple[str, User]]] = {}
        self.by_department: dict[tuple[str, int], User] = {}
        self.users: dict[int, User] = {}
        rows = (
            RoleAssignment.objects.active()
            .filter(user__is_active=True)
            .select_related("user", "area")
            .order_by("user__username", "pk")
        )
        for row in rows:
            user = self.users.setdefault(row.user_id, row.user)
            if row.area is not None:
                self.by_area.setdefault(row.role, []).append((row.area.path, user))
            elif row.department_id is not None:
                self.by_department.setdefault((row.role, row.department_id), user)

    def over(self, role: str, area: Area) -> User | None:
        """The user holding `role` with the deepest scope containing `area`."""
        best: tuple[str, User] | None = None
        for path, user in self.by_area.get(role, []):
            if area.path.startswith(path) and (best is None or len(path) > len(best[0])):
                best = (path, user)
        return best[1] if best else None

    def need(self, role: str, area: Area) -> User:
        user = self.over(role, area)
        if user is None:
            raise DemoCasesUnavailable(f"no demo user holds {role} over {area.code}")
        return user

    def of_department(self, department_id: int) -> User | None:
        return self.by_department.get((Role.DEPT_HANDLER, department_id)) or self.by_department.get(
            (Role.DEPT_HEAD, department_id)
        )

    def handler(self, *, department: Department | None, area: Area | None) -> User | None:
        """Who signs for and handles a case of this unit (see cases.permissions)."""
        if department is not None:
            return self.of_department(department.pk)
        if area is not None and area.level == Level.STREET:
            return self.over(Role.STREET_STAFF, area)
        return self.over(Role.COMMUNITY_STAFF, area) if area is not None else None

    def head(self, department_id: int) -> User | None:
        return self.by_department.get((Role.DEPT_HEAD, department_id))


class _Seeder:
    def __init__(self, *, seed: int, progress: bool) -> None:
        self.rng = random.Random(f"gridlink-demo-cases:{seed}")
        self.progress = progress
        self.base = timezone.now()
        self.at = self.base
        self.calendar = calendar_load()
        self.rating_keys: dict[int, str] = {}  # case → the reporter's rating key
        self.staff = _Staff()
        version = taxonomy_current()
        present = set(
            Category.objects.filter(version=version, parent__isnull=False).values_list(
                "code", flat=True
            )
        )
        self.scripts = [s for s in texts.SCRIPTS if s.code in present]
        self.grid_level_codes = set(
            Category.objects.filter(
                version=version, parent__isnull=False, default_level=HandlingLevel.GRID
            ).values_list("code", flat=True)
        )
        self.buildings = list(Building.objects.select_related("grid").order_by("address_code"))
        residents = self.staff.by_area.get(Role.RESIDENT, [])
        if not self.scripts or not self.buildings or not residents:
            raise DemoCasesUnavailable("seed the demo district first (gridlink seed)")
        self.resident = residents[0][1]
        self.public_left = {"resident": PUBLIC_PER_CLIENT, "anonymous": PUBLIC_PER_CLIENT}
        self.places: dict[int, Building] = {}
        self.units: dict[tuple[int, int], str] = {}
        self.departments: dict[str, Department | None] = {}

    # --- The run ----------------------------------------------------------------------------

    def run(self) -> list[Case]:
        plan = [t for t, n in TARGETS.items() for _ in range(n) if t != S.MERGED]
        self.rng.shuffle(plan)
        self.channels = self._channel_mix(len(plan))
        seen: Counter[State] = Counter()
        cases: list[Case] = []
        total = len(plan) + TARGETS[S.MERGED] + 3
        with tqdm(total=total, desc="cases", unit="case", file=sys.stderr,
                  disable=not self.progress) as bar:  # fmt: skip
            for target in plan:
                cases.append(self._one(target, index=seen[target]))
                seen[target] += 1
                bar.update()
            for stage in ("evaluated", "in_progress", "summoned"):
                cases.append(self._joint(stage))
                bar.update()
            for _ in range(TARGETS[S.MERGED]):
                cases.append(self._duplicate(cases))
                bar.update()
        return cases

    def _one(self, target: State, *, index: int) -> Case:
        final = target in (S.CLOSED, S.EVALUATED, S.REOPENED, S.INVALID)
        # Open cases: one in three started days ago (overdue), one in three just now. The
        # first of each state is always fresh, so every state survives the worker's first
        # deadline sweep (which escalates the overdue ones).
        overdue = self.rng.randint(3, 6)
        if final and not (target == S.REOPENED and index == 0):
            age = self.rng.randint(4, 40)  # closed ones spread over the last two months
        else:
            age = (0, overdue, 1)[index % 3]
        channel = self.channels.pop()
        script = self._script(channel, exclude_top=target == S.ESCALATED)
        building = self.rng.choice(self.buildings)
        grid_level = script.code in self.grid_level_codes
        solvable = target in (S.HANDLED, S.VERIFYING, S.VERIFIED, S.CLOSED, S.EVALUATED)
        patrol = channel == Channel.GRID_PATROL
        on_the_spot = patrol and grid_level and solvable and self.rng.random() < 0.5
        steps = _path(target, patrol=patrol, on_the_spot=on_the_spot, rng=self.rng)
        if target == S.REOPENED and index == 0:
            steps = [*_path(S.CLOSED, patrol=patrol, on_the_spot=False, rng=self.rng),
                     *_TWICE_DISSATISFIED]  # fmt: skip
        case = self._report(script, channel, building, age=age)
        for step in steps:
            case = self._step(case, step)
        if case.is_open and self.rng.random() < SUPERVISED_SHARE:
            case = self._act(case, "supervise", self.staff.need(Role.SUPERVISOR, case.grid),
                             {"reason": self.rng.choice(texts.SUPERVISE_REASONS)})  # fmt: skip
        return case

    def _channel_mix(self, n: int) -> list[str]:
        """`n` channels in the proportions of CHANNEL_WEIGHTS, shuffled."""
        total = sum(CHANNEL_WEIGHTS.values())
        mix = [c for c, w in CHANNEL_WEIGHTS.items() for _ in range(max(1, round(n * w / total)))]
        mix = [*mix, *[Channel.GRID_PATROL] * n][:n]
        self.rng.shuffle(mix)
        return [str(c) for c in mix]

    def _script(self, channel: str, *, exclude_top: bool = False) -> CategoryScript:
        """A sub-class that suits the channel (joint-handling ones are kept for `_joint`)."""
        pool = [s for s in self.scripts if not s.co_kinds and channel in (s.channels or [channel])]
        if channel == Channel.SENSOR:
            pool = [s for s in pool if s.code in texts.SENSOR_CODES]
        if exclude_top:  # the district centre is the top of the ladder: no escalation
            pool = [s for s in pool if s.code != "E0601"]
        return self.rng.choice(pool or self.scripts)

    # --- Intake -------------------------------------------------------------------------------

    def _report(self, script: CategoryScript, channel: str, building: Building, *, age: int,
                description: str = "") -> Case:  # fmt: skip
        self.at = self._start_at(age)
        rng, grid = self.rng, building.grid
        actor: User | None = None
        report = Report(
            channel=channel,
            category_code=script.code,
            description=description or rng.choice(script.reports),
            lat=building.lat,
            lon=building.lon,
            address=building.address,
            attributes=script.attributes(rng),
        )
        if channel in (Channel.RESIDENT_WEB, Channel.OPEN311):
            if (
                channel == Channel.RESIDENT_WEB
                and self.public_left["resident"] > 0
                and (rng.random() < 0.6 or self.public_left["anonymous"] == 0)
            ):
                self.public_left["resident"] -= 1
                actor = self.resident
            elif self.public_left["anonymous"] > 0:
                self.public_left["anonymous"] -= 1
                report.anonymous = channel == Channel.RESIDENT_WEB and rng.random() < 0.4
                if not report.anonymous:
                    report.reporter_name = self._person()
                    report.reporter_phone = random_mobile(rng)
            else:  # the intake rate limit would refuse a public report: a patrol finds it
                report.channel = channel = Channel.GRID_PATROL
            if channel != Channel.GRID_PATROL and rng.random() < 0.6:
                report.photo_keys = [photo_upload(actor=actor, upload=self._png()).key]
        if channel == Channel.GRID_PATROL:
            actor = self.staff.need(Role.GRID_WORKER, grid)
            report.photo_keys = [photo_upload(actor=actor, upload=self._png()).key]
        elif channel == Channel.HOTLINE:  # entered as the operator's entry page enters it
            return self._hotline(report, building)
        elif channel in (Channel.HIGHER_AUTHORITY, Channel.SENSOR, Channel.MEDIA):
            actor = self.staff.need(Role.DISPATCHER, grid)
            report.external_number = {
                Channel.HIGHER_AUTHORITY: f"青西督〔2026〕{rng.randint(1, 300)}号",
                Channel.SENSOR: f"IOT-{rng.randrange(16**6):06X}",
                Channel.MEDIA: "",
            }[Channel(channel)]
        application = DEMO_KEY_ID if channel == Channel.OPEN311 else None
        created = case_create(
            actor=actor, report=report, ip=None, application=application, now=self.at
        )
        case = created.case
        if created.rating_key:
            self.rating_keys[case.pk] = created.rating_key
        self.places[case.pk] = building
        return case

    def _hotline(self, report: Report, building: Building) -> Case:
        """A 12345 order through `hotline_order_enter`, the service of the entry page (the
        order number, entered once, also fills the `hotline_order_no` attribute)."""
        rng, grid = self.rng, building.grid
        order = HotlineOrder(
            order_number=f"12345-{rng.randrange(10**8):08d}",
            category_code=report.category_code,
            description=report.description,
            caller_name=self._person(),
            caller_phone=random_mobile(rng),
            lat=report.lat,
            lon=report.lon,
            address=report.address,
            attributes={k: v for k, v in report.attributes.items() if k != "hotline_order_no"},
        )
        operator = self.staff.need(Role.HOTLINE_OPERATOR, grid)
        case = hotline_order_enter(actor=operator, order=order, now=self.at)
        self.places[case.pk] = building
        return case

    def _person(self) -> str:
        rng = self.rng
        return random_person_name(rng, rng.choice("MF"), rng.randint(1950, 2000))

    def _start_at(self, age: int) -> dt.datetime:
        rng = self.rng
        if age == 0:  # reported within the hour: its deadlines run from about now
            return self.base - dt.timedelta(minutes=rng.randint(15, 45))
        day = timezone.localtime(self.base, self.calendar.tz).date()
        while age > 0:
            day -= dt.timedelta(days=1)
            age -= self.calendar.is_working_day(day)
        start = dt.datetime.combine(day, dt.time(8, 30), self.calendar.tz)
        return start + dt.timedelta(minutes=rng.randint(0, 300))

    def _tick(self) -> dt.datetime:
        self.at = min(self.at + dt.timedelta(minutes=self.rng.randint(10, 90)), self.base)
        return self.at

    def _png(self) -> bytes:
        """A small stand-in photo: a street-coloured scene with a few shapes."""
        rng = self.rng
        image = Image.new("RGB", (320, 240), (rng.randint(90, 160),) * 3)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 150, 320, 240), fill=(rng.randint(60, 110),) * 3)
        for _ in range(4):
            x, y = rng.randint(0, 280), rng.randint(40, 200)
            colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
            draw.ellipse((x, y, x + rng.randint(15, 60), y + rng.randint(15, 40)), fill=colour)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    # --- Steps --------------------------------------------------------------------------------

    def _act(self, case: Case, action: str, actor: User | None, inputs: dict[str, Any],
             *, by_code: bool = False) -> Case:  # fmt: skip
        return case_transition(actor=actor, case_id=case.pk, action=action,
                               version=case.version, inputs=inputs,
                               rating_key=self.rating_keys[case.pk] if by_code else None,
                               now=self._tick(), calendar=self.calendar)  # fmt: skip

    def _handler(self, case: Case) -> User:
        user = self.staff.handler(department=case.unit_department, area=case.unit_area)
        if user is None:
            raise DemoCasesUnavailable(f"nobody handles cases of {case.unit_name}")
        return user

    def _step(self, case: Case, step: str) -> Case:
        rng, staff, grid = self.rng, self.staff, case.grid
        dispatcher = staff.need(Role.DISPATCHER, grid)
        handle_days = case.category.handle_unit == "working_days"
        match step:
            case (
                "accept"
                | "file"
                | "close"
                | "approve_extension"
                | "approve_suspension"
                | ("resume")
            ):
                return self._act(case, step, dispatcher, {})
            case "file_directly":
                return self._act(case, step, staff.need(Role.GRID_WORKER, grid), {})
            case "invalidate":
                return self._act(case, step, dispatcher,
                                 {"reason": rng.choice(texts.INVALID_REASONS)})  # fmt: skip
            case "dispatch":
                return self._act(case, step, dispatcher, {"unit_id": self._unit(case)})
            case "reject_return":
                reason = rng.choice(texts.REJECT_RETURN_REASONS)
                return self._act(case, step, dispatcher, {"reason": reason})
            case "deny_extension":
                return self._act(case, step, dispatcher, {"reason": texts.DENY_REASONS[0]})
            case "escalate":
                patrol = case.state == S.FILED and case.channel == Channel.GRID_PATROL
                actor = staff.need(Role.GRID_WORKER, grid) if patrol else dispatcher
                reason = rng.choice(texts.ESCALATE_REASONS)
                return self._act(case, step, actor, {"reason": reason})
            case "sign_for" | "start_handling":
                return self._act(case, step, self._handler(case), {})
            case "return_not_our_duty":
                reason = rng.choice(texts.RETURN_REASONS)
                return self._act(case, step, self._handler(case), {"reason": reason})
            case "request_extension":
                inputs = {"reason": rng.choice(texts.EXTENSION_REASONS),
                          "duration": "3d" if handle_days else "8h"}  # fmt: skip
                return self._act(case, step, self._handler(case), inputs)
            case "request_suspension":
                reason = rng.choice(texts.SUSPENSION_REASONS)
                return self._act(case, step, self._handler(case), {"reason": reason})
            case "endorse_extension" | "endorse_suspension":
                if case.unit_department_id is None:  # an area office: no head step
                    return case
                head = staff.head(case.unit_department_id)
                if head is None:
                    raise DemoCasesUnavailable(f"no head for {case.unit_name}")
                return self._act(case, step, head, {})
            case "submit_result" | "handle_on_the_spot":
                actor = (
                    self._handler(case)
                    if step == "submit_result"
                    else staff.need(Role.GRID_WORKER, grid)
                )
                key = photo_upload(actor=actor, upload=self._png()).key
                return self._act(case, step, actor,
                                 {"evidence": [key], "result": self._result(case)})  # fmt: skip
            case "send_for_verification":
                verifier = staff.need(Role.GRID_WORKER, grid)
                if verifier.pk == case.handled_by_id:
                    verifier = staff.need(Role.SUPERVISOR, grid)
                return self._act(case, step, dispatcher, {"verifier_id": verifier.pk})
            case "verify_pass" | "verify_fail":
                verifier = staff.users[case.verifier_id or 0]
                inputs = {"reason": rng.choice(texts.VERIFY_FAIL_REASONS)}
                return self._act(case, step, verifier, inputs if step == "verify_fail" else {})
            case "rate" | "rate_dissatisfied":
                return self._rate(case, dissatisfied=step == "rate_dissatisfied")
            case "reopen":
                hotline = staff.need(Role.HOTLINE_OPERATOR, grid)
                return self._act(case, step, hotline, {"reason": texts.REOPEN_REASONS[0]})
        raise ValueError(f"unknown demo step {step!r}")

    def _result(self, case: Case) -> str:
        script = next((s for s in self.scripts if s.code == case.category.code), None)
        return script.result if script else "已处置完毕。"

    def _unit(self, case: Case) -> str:
        """'auto' when the routing lands on a unit with demo staff, else the district
        department of the category's kind (demo staff sit there, not in street stations)."""
        key = (case.category_id, case.grid_id)
        if key not in self.units:
            self.units[key] = self._unit_uncached(case)
        return self.units[key]

    def _unit_uncached(self, case: Case) -> str:
        try:
            decision = route_for(category=case.category, area=case.grid)
        except DomainError:
            decision = None
        if decision is not None and self.staff.handler(
            department=decision.department, area=decision.area_unit
        ):
            return "auto"
        department = self._department(case.category.default_department_kind)
        if department is not None:
            return f"department:{department.pk}"
        community = Area.objects.get(pk=int(case.grid.path.strip("/").split("/")[-2]))
        if community.level != Level.COMMUNITY:
            raise DemoCasesUnavailable(f"no unit with demo staff for {case.category.code}")
        return f"area:{community.pk}"

    def _department(self, kind: str) -> Department | None:
        """The first active department of `kind` with demo staff."""
        if kind not in self.departments:
            rows = Department.objects.filter(kind=kind, active=True).order_by("code")
            staffed = (d for d in rows if self.staff.of_department(d.pk) is not None)
            self.departments[kind] = next(staffed, None)
        return self.departments[kind]

    def _rate(self, case: Case, *, dissatisfied: bool) -> Case:
        rng = self.rng
        choice = (
            Satisfaction.DISSATISFIED
            if dissatisfied
            else rng.choice([Satisfaction.SATISFIED] * 3 + [Satisfaction.BASICALLY])
        )
        inputs = {"satisfaction": str(choice), "solved": not dissatisfied,
                  "comment": rng.choice(texts.RATE_COMMENTS[choice])}  # fmt: skip
        if case.channel in (Channel.RESIDENT_WEB, Channel.OPEN311):
            if case.reporter_id is not None:  # the signed-in resident rates their own case
                return self._act(case, "rate", self.staff.users[case.reporter_id], inputs)
            return self._act(case, "rate", None, inputs, by_code=True)  # by rating key
        hotline = self.staff.need(Role.HOTLINE_OPERATOR, case.grid)  # 回访: a callback
        return self._act(case, "rate", hotline, inputs)

    # --- Joint handling and duplicates ------------------------------------------------------

    def _joint(self, stage: str) -> Case:
        """A whistled case (吹哨报到) at one of three stages."""
        rng, staff = self.rng, self.staff
        script = self.rng.choice([s for s in self.scripts if s.co_kinds] or self.scripts)
        building = rng.choice(self.buildings)
        age = {"evaluated": 5, "in_progress": 3, "summoned": 0}[stage]
        case = self._report(script, rng.choice(script.channels or (Channel.GRID_PATROL,)),
                            building, age=age)  # fmt: skip
        dispatcher = staff.need(Role.DISPATCHER, case.grid)
        case = self._act(case, "accept", dispatcher, {})
        case = self._act(case, "file", dispatcher, {})
        lead = self._department(case.category.default_department_kind)
        others = [self._department(kind) for kind in script.co_kinds]
        if lead is None or None in others:
            raise DemoCasesUnavailable(f"no departments with demo staff for {script.code}")
        ids = [lead.pk, *(d.pk for d in others if d is not None)]
        instructions = {str(lead.pk): texts.TASK_INSTRUCTIONS["lead"]} | {
            str(d.pk): texts.TASK_INSTRUCTIONS.get(d.kind, "") for d in others if d is not None
        }
        case = self._act(case, "whistle", dispatcher, {"department_ids": ids,
                         "lead_department_id": lead.pk, "instructions": instructions})  # fmt: skip
        if stage == "summoned":
            return case
        case = self._step(case, "sign_for")
        co_tasks = list(
            CaseTask.objects.filter(case=case, is_lead=False).select_related("department")
        )
        for task in co_tasks:
            case = self._task(case, task, "report_in")
        case = self._step(case, "start_handling")
        for task in co_tasks[: 1 if stage == "in_progress" else None]:
            case = self._task(case, task, "complete")
        if stage == "in_progress":
            return case
        for step in ("submit_result", "send_for_verification", "verify_pass", "close", "rate"):
            case = self._step(case, step)
        for task in CaseTask.objects.filter(case=case).order_by("pk"):
            case = self._task(case, task, "rate", actor=dispatcher)
        return case

    def _task(self, case: Case, task: CaseTask, what: str, *, actor: User | None = None) -> Case:
        actor = actor or self.staff.of_department(task.department_id)
        if actor is None:
            raise DemoCasesUnavailable(f"nobody works for department {task.department_id}")
        if what == "report_in":
            task_report_in(actor=actor, task_id=task.pk, version=case.version, now=self._tick())
        elif what == "complete":
            result = texts.TASK_RESULTS.get(task.department.kind, "已完成本部门承担的任务。")
            task_complete(actor=actor, task_id=task.pk, version=case.version, result=result,
                          now=self._tick())  # fmt: skip
        else:
            task_rate(actor=actor, task_id=task.pk, version=case.version,
                      rating=self.rng.randint(3, 5), note="配合积极，按时报到。")  # fmt: skip
        case.refresh_from_db(fields=["version"])
        return case

    def _duplicate(self, cases: list[Case]) -> Case:
        """A second report of an open case, merged into it (合并)."""
        parents = [c for c in cases if c.state in OPEN_STATES and c.parent_id is None
                   and not c.whistled and c.pk in self.places]  # fmt: skip
        parent = self.rng.choice(parents)
        script = next(s for s in self.scripts if s.code == parent.category.code)
        text = "又有人反映：" + self.rng.choice(script.reports)
        channel = Channel.HOTLINE if script.channels == ("hotline",) else Channel.RESIDENT_WEB
        case = self._report(script, channel, self.places[parent.pk], age=0, description=text)
        dispatcher = self.staff.need(Role.DISPATCHER, case.grid)
        return self._act(case, "merge", dispatcher, {"parent_case_id": parent.pk})
