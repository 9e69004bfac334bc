"""How fast are the indicators on a district's year of cases? `make bench-assessment`.

Needs PostgreSQL (default `postgres://postgres@127.0.0.1:5432/gridlink_bench`; `--database-url`
for another; the database is created if missing and migrated). Loads, once:

- the working calendar, the shipped taxonomy and the district-scale demo tree (27 streets,
  ~1,200 communities, ~1,540 grids, 119 departments; no residents);
- `--cases N` synthetic cases (default 1,000,000) reported over the last 13 months, written
  straight to the tables with COPY (the services would take hours): a realistic category
  mix (grid-level nuisances such as exposed garbage and illegal parking far more often than
  gas leaks), a weekday/daytime arrival pattern with quieter weekends and holidays, and
  handling times drawn around each sub-class's deadlines — some late (red cards and
  supervision), returned, escalated, whistled, extended, suspended, reworked, rated and
  reopened; cases reported lately are still open. Each case's timeline is a series of
  `CaseEvent` rows with the snapshots the services would write;
- the rollups, computed by the real `gridlink.assessment.facts.case_contributions` from each
  case's timeline as it is generated and laid out by the real `rollups.leaf_rows` (one
  `IndicatorDay` row per unit × grid × sub-class × day: the grid's own `area` row, and the
  office, department and person rows split by the case's grid; no rows for the areas above
  a grid), written with COPY (cases are generated in time order, so a leaf row is final once
  the generator has passed its day); and each case's `CaseFacts`, as `rollups_rebuild` writes
  them, so a rebuild gives the same rows.

A second run reuses a database already loaded with N cases by this layout (`--reload` starts
over). Then it times, after a warm-up, `--reps` runs each of: every indicator
(`indicator_values`) of a random grid, a random street and the whole district, over last
month and over the 12 months up to its end (an area is summed from its grids' rows at read
time, `selectors.counter_sums_many`); the monthly scorecards of every unit
(`scorecards.scorecard_compute`: streets, communities and grids by the urban-management
scheme, departments by the hotline scheme); every indicator of every street, community, grid
and department one unit at a time; and the same from one grouped read (`counter_sums_many`
of them all). Prints p50/p95/max, row counts, sizes and the EXPLAIN
ANALYZE of the district's 12-month sums. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import django
import numpy as np

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gridlink_bench"
SEED = 1
MONTHS = 13
BATCH = 10_000
SHANGHAI = ZoneInfo("Asia/Shanghai")
# How the loader lays the rollups out; a database loaded by another layout is loaded anew.
# "leaf": IndicatorDay per unit × grid × sub-class × day, with CaseFacts (migration 0005).
LAYOUT = "leaf"
WORKDAY_HOURS = 7.5  # DEFAULT_SESSIONS: 08:30–12:00, 13:30–17:30

# Relative frequency of a sub-class: by default handling level and urgency, then a few
# everyday problems boosted (what a district's grid workers and residents report most).
LEVEL_WEIGHT = {
    "grid": 8.0,
    "community": 4.0,
    "street": 2.0,
    "district_department": 1.5,
    "district_centre": 0.3,
}
URGENCY_WEIGHT = {"normal": 1.0, "urgent": 0.5, "critical": 0.08}
BOOST = {
    "E0102": 6,
    "E0403": 6,
    "E0104": 3,
    "E0401": 3,
    "E0402": 3,
    "E0202": 3,
    "E0404": 2,
    "C0108": 2,
    "C0302": 2,
    "E0601": 3,
    "E0110": 2,
    "E0108": 2,
}
CHANNELS = {
    "resident_web": 30,
    "grid_patrol": 30,
    "hotline": 20,
    "open311": 4,
    "higher_authority": 5,
    "sensor": 6,
    "media": 5,
}
RATED_SHARE = {"hotline": 0.9, "resident_web": 0.7, "open311": 0.5}
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.35)
# Share of reports by local hour: a daytime double hump, a little at night.
HOUR_WEIGHT = (
    0.3,
    0.2,
    0.1,
    0.1,
    0.1,
    0.3,
    1.0,
    2.5,
    5.0,
    8.0,
    9.0,
    8.0,
    5.0,
    5.0,
    7.0,
    8.0,
    7.5,
    6.0,
    4.0,
    3.0,
    2.5,
    2.0,
    1.2,
    0.6,
)
LADDER = ("grid", "community", "street", "district_department", "district_centre")
AREA_LEVEL_INDEX = {"grid": 0, "community": 1, "street": 2}  # index into the case's chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--reload", action="store_true", help="drop the database and load anew")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    # With DATABASE_URL set gridlink needs explicit keys; these protect only the throw-away
    # benchmark database (kept across runs, so the keys are fixed).
    os.environ.setdefault("GRIDLINK_SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
    os.environ.setdefault("GRIDLINK_AUDIT_KEY", "bench-only-audit-key-" + "c" * 40)
    os.environ["GRIDLINK_DB_POOL_MIN"] = "1"
    os.environ["GRIDLINK_DB_POOL_MAX"] = "2"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridlink.settings")
    loaded = database_prepare(args.database_url, args.cases, args.reload)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if loaded:
        print(f"reusing {args.database_url}: already loaded with {args.cases:,} cases")
    else:
        started = time.perf_counter()
        load(args.cases)
        print(f"loaded {args.cases:,} cases in {time.perf_counter() - started:.0f} s")
    measure(args.reps)


# --- The database ---------------------------------------------------------------------------


def database_prepare(url: str, cases: int, reload: bool) -> bool:
    """Create the database if missing (or anew with `reload`); True when already loaded."""
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url.replace("postgres://", "postgresql://", 1))
    name = str(info.pop("dbname"))
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not reload:
            with psycopg.connect(psycopg.conninfo.make_conninfo(**info, dbname=name)) as db:
                try:
                    meta = dict(db.execute("SELECT key, value FROM bench_meta").fetchall())
                except psycopg.errors.UndefinedTable:
                    meta = {}
            if meta.get("cases") == str(cases) and meta.get("layout") == LAYOUT:
                return True
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return False


def _copy(table: str, columns: list[str], text: str) -> None:
    from django.db import connection

    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as cp:  # type: ignore[attr-defined]
        cp.write(text)


def _esc(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"))
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class Table:
    """COPY rows of one model: every concrete column, defaults for those not given."""

    def __init__(self, model: Any) -> None:
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        self.template = [_esc(self._default(f)) for f in self.fields]
        self.lines: list[str] = []

    @staticmethod
    def _default(field: Any) -> Any:
        if field.has_default() and not callable(field.default):
            return field.get_default()
        if field.has_default():  # dict, list, timezone.now: given explicitly where needed
            value = field.get_default()
            return value if isinstance(value, (dict, list)) else None
        text_field = field.get_internal_type() in ("CharField", "TextField")
        return "" if text_field and not field.null else None

    def add(self, values: dict[str, Any]) -> None:
        row = self.template.copy()
        for name, value in values.items():
            row[self.index[name]] = _esc(value)
        self.lines.append("\t".join(row))

    def flush(self) -> int:
        n = len(self.lines)
        if n:
            _copy(self.table, self.columns, "\n".join(self.lines) + "\n")
            self.lines = []
        return n


# --- The district and its units ----------------------------------------------------------------


class District:
    """What the generator needs to know about the seeded district, in memory."""

    def __init__(self, rng: random.Random) -> None:
        from gridlink.accounts.models import RoleAssignment
        from gridlink.cases.selectors import taxonomy_current
        from gridlink.geo.models import Area, Department, Level

        areas = list(Area.objects.values("pk", "code", "level", "path", "parent_id"))
        self.by_pk = {a["pk"]: a for a in areas}
        self.district = next(a for a in areas if a["level"] == Level.DISTRICT)
        self.streets = [a for a in areas if a["level"] == Level.STREET]
        self.communities = [a for a in areas if a["level"] == Level.COMMUNITY]
        self.grids = [a for a in areas if a["level"] == Level.GRID]
        # The chain of each grid, grid first: (grid, community, street, district).
        self.chain = {
            g["pk"]: tuple(reversed([int(p) for p in g["path"].strip("/").split("/") if p]))
            for g in self.grids
        }
        points = Area.objects.filter(level=Level.GRID).values_list("pk", "geometry")
        self.point = {pk: _centre(geometry) for pk, geometry in points}

        self.depts = list(Department.objects.values("pk", "code", "kind", "parent_id"))
        self.centre = next(d["pk"] for d in self.depts if d["kind"] == "command_centre")
        served = Department.areas.through.objects.values_list("department_id", "area_id")
        self.serving: dict[tuple[str, int], list[int]] = defaultdict(list)
        kind_of = {d["pk"]: d["kind"] for d in self.depts}
        code_of = {d["pk"]: d["code"] for d in self.depts}
        for dept, area in served:
            self.serving[(kind_of[dept], area)].append(dept)
        for key in self.serving:
            self.serving[key].sort(key=lambda d: code_of[d])
        parent = {d["pk"]: d["parent_id"] for d in self.depts}

        roles = RoleAssignment.objects.values_list("role", "user_id", "area_id", "department_id")
        self.grid_worker: dict[int, int] = {}
        self.community_staff: dict[int, int] = {}
        self.dispatcher: dict[int, int] = {}
        dept_users: dict[int, list[int]] = defaultdict(list)
        self.hotline: list[int] = []
        self.supervisor = 0
        for role, user, area, dept in roles:
            if role == "grid_worker":
                self.grid_worker[area] = user
            elif role == "community_staff":
                self.community_staff[area] = user
            elif role == "dispatcher":
                self.dispatcher[area] = user
            elif role in ("dept_handler", "dept_head") and dept:
                dept_users[dept].append(user)
            elif role == "hotline_operator":
                self.hotline.append(user)
            elif role == "supervisor":
                self.supervisor = user
        # A station's handler is its bureau's (stations have no accounts of their own).
        self.handler: dict[int, int | None] = {}
        for d in self.depts:
            own = dept_users.get(d["pk"]) or dept_users.get(parent[d["pk"]] or 0)
            self.handler[d["pk"]] = min(own) if own else None
        self.global_users = {u for users in dept_users.values() for u in users}
        self.global_users |= {
            *self.hotline,
            self.supervisor,
            self.dispatcher.get(self.district["pk"], 0),
        }

        version = taxonomy_current()
        if version is None:
            raise RuntimeError("no published taxonomy")
        self.version_id = version.pk
        self.categories = list(
            version.categories.filter(parent__isnull=False).order_by("code").values()
        )
        weights = [
            LEVEL_WEIGHT.get(c["default_level"], 1.0)
            * URGENCY_WEIGHT.get(c["urgency"], 1.0)
            * BOOST.get(c["code"], 1)
            for c in self.categories
        ]
        total = sum(weights)
        self.category_p = np.array(weights) / total
        grid_w = np.array([rng.lognormvariate(0, 0.6) for _ in self.grids])
        self.grid_p = grid_w / grid_w.sum()

    def department(self, kind: str, grid: int) -> int:
        """The department of `kind` serving the most specific area of the grid's chain."""
        for area in self.chain[grid]:
            found = self.serving.get((kind, area))
            if found:
                return found[0]
        return self.centre


def _centre(geometry: Any) -> tuple[float, float]:
    """A point inside (near the middle of) a grid's GeoJSON polygon: (lat, lon)."""
    import shapely.geometry

    shape = shapely.geometry.shape(geometry)
    p = shape.representative_point()
    return float(p.y), float(p.x)


# --- One case's timeline --------------------------------------------------------------------


class Sim:
    """Walks one case along the workflow, recording events with the services' snapshots."""

    def __init__(self, d: District, cal: Any, rng: random.Random, now: dt.datetime) -> None:
        self.d, self.cal, self.rng, self.now = d, cal, rng, now

    # time helpers
    def later(self, at: dt.datetime, hours: float) -> dt.datetime:
        from gridlink.core.worktime import add_working_hours

        return add_working_hours(start_at=at, hours=round(max(hours, 0.02), 3), calendar=self.cal)

    def lognorm(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0, sigma))

    def deadline(
        self, at: dt.datetime, stage: str, extra: tuple[int, str] | None = None
    ) -> dt.datetime:
        from gridlink.core.worktime import deadline_for

        amount, unit = self.cat[f"{stage}_amount"], self.cat[f"{stage}_unit"]
        kw: dict[str, Any] = {"hours": amount} if unit == "working_hours" else {"days": amount}
        if extra:
            kw["extra_hours" if extra[1] == "h" else "extra_days"] = extra[0]
        return deadline_for(start_at=at, calendar=self.cal, **kw)

    def allowance(self, stage: str) -> float:
        amount, unit = self.cat[f"{stage}_amount"], self.cat[f"{stage}_unit"]
        return float(amount) * (1.0 if unit == "working_hours" else WORKDAY_HOURS)

    # the case
    def run(
        self, case_id: int, at: dt.datetime, grid: int, cat: dict[str, Any], channel: str
    ) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
        self.cat, self.grid, self.channel = cat, grid, channel
        self.chain = self.d.chain[grid]
        self.events: list[tuple[Any, ...]] = []
        self.state = "reported"
        self.s: dict[str, Any] = {
            "stage": "",
            "deadline_at": None,
            "level": "",
            "dept": None,
            "area": None,
            "handled_by": None,
            "suspended": False,
            "supervised": False,
            "card": "",
        }
        self.counts = {
            "return_count": 0,
            "verify_fail_count": 0,
            "dissatisfied_count": 0,
            "escalation_count": 0,
            "extension_count": 0,
        }
        self.marks: dict[str, Any] = {}
        self.t = at
        worker = self.d.grid_worker.get(grid)
        reporter = (
            worker
            if channel == "grid_patrol"
            else (self.rng.choice(self.d.hotline) if channel == "hotline" else None)
        )
        self.emit("reported", reporter, "", {"channel": channel})
        self.path(worker)
        return self.case_row(case_id, at), self.events

    def emit(
        self,
        kind: str,
        actor: int | None,
        to: str | None = None,
        data: dict[str, Any] | None = None,
        public: bool = True,
    ) -> None:
        before = self.state
        if to:
            self.state = to
        self.events.append(
            (
                kind,
                self.t,
                actor,
                before if kind != "reported" else "",
                self.state,
                data or {},
                dict(self.s),
                public,
            )
        )

    def at(self, hours: float) -> None:
        self.t = self.later(self.t, hours)

    def dispatcher(self) -> int | None:
        return self.d.dispatcher.get(self.chain[2])

    def set_unit(self, level: str) -> None:
        self.s["level"] = level
        if level in AREA_LEVEL_INDEX:
            self.s["area"], self.s["dept"] = self.chain[AREA_LEVEL_INDEX[level]], None
        elif level == "district_department":
            self.s["area"] = None
            self.s["dept"] = self.d.department(self.cat["default_department_kind"], self.grid)
        else:
            self.s["area"], self.s["dept"] = None, self.d.centre

    def handler(self) -> int | None:
        if self.s["dept"]:
            return self.d.handler.get(self.s["dept"])
        level = self.s["level"]
        if level in ("grid", "community"):
            return self.d.community_staff.get(self.chain[1])
        return None

    def start_stage(self, stage: str, extra: tuple[int, str] | None = None) -> None:
        self.s["stage"] = stage
        self.stage_start = self.t
        self.s["deadline_at"] = self.deadline(self.t, stage, extra).isoformat()
        self.s["card"] = ""

    def end_stage(self) -> None:
        self.s["stage"], self.s["deadline_at"], self.s["card"] = "", None, ""

    def wait_until(self, hours: float) -> None:
        """Move time on by `hours` of working time; a red card (and the sweep's supervision)
        comes first when the stage's deadline passes meanwhile."""
        target = self.later(self.t, hours)
        deadline = self.s["deadline_at"]
        if deadline and self.s["card"] != "red" and not self.s["suspended"]:
            due = dt.datetime.fromisoformat(deadline)
            if due < target:
                self.t = max(self.t, due + dt.timedelta(minutes=1))
                self.s["card"] = "red"
                self.emit(
                    "red_card",
                    None,
                    None,
                    {"stage": self.s["stage"], "deadline_at": deadline},
                    False,
                )
                if not self.s["supervised"] and self.rng.random() < 0.6:
                    self.s["supervised"] = True
                    self.emit("supervise", None, None, {"supervised": True}, False)
        self.t = max(self.t, target)

    def path(self, worker: int | None) -> None:
        r = self.rng.random
        disp = self.dispatcher()
        level = self.cat["default_level"]
        if self.channel == "grid_patrol" and level == "grid" and r() < 0.5:
            self.at(self.lognorm(0.4, 0.6))
            self.set_unit("grid")
            self.s["handled_by"] = worker
            self.marks["filed_at"] = self.marks["handled_at"] = self.t
            self.emit("handle_on_the_spot", worker, "handled", {"photos": ["x"]})
            self.verify_and_close(worker)
            return
        if self.channel == "grid_patrol":
            self.at(self.lognorm(0.3, 0.8))
            self.emit("file_directly", worker, "filed")
        else:
            self.at(self.lognorm(0.4, 1.0))
            x = r()
            if x < 0.04:
                self.emit("invalidate", disp, "invalid", {}, True)
                return
            if x < 0.06:
                self.emit("merge", disp, "merged", {"parent": "B"})
                return
            self.emit("accept", disp, "accepted")
            self.at(self.lognorm(0.3, 0.8))
            self.emit("file", disp, "filed")
        self.marks["filed_at"] = self.t
        self.at(self.lognorm(0.3, 0.8))
        self.set_unit(level)
        if level in ("street", "district_department", "district_centre") and r() < 0.02:
            kind = self.cat["default_department_kind"]
            lead = self.s["dept"] or self.d.department(kind, self.grid)
            others = self.rng.sample(self.d.depts, 2)
            depts = [lead, *[o["pk"] for o in others if o["pk"] != lead]]
            self.s["dept"], self.s["area"], self.s["level"] = lead, None, "district_department"
            self.start_stage("sign_for")
            self.emit("whistle", disp, "dispatched", {"departments": depts, "lead": lead})
        else:
            self.start_stage("sign_for")
            self.emit("dispatch", disp, "dispatched", {"unit": self.s["dept"] or self.s["area"]})
        if r() < 0.04:  # not our duty: returned, then dispatched again (or the return refused)
            self.wait_until(self.lognorm(0.4 * self.allowance("sign_for"), 0.8))
            self.counts["return_count"] += 1
            self.end_stage()
            self.emit("return_not_our_duty", self.handler(), "returned", {}, False)
            self.at(self.lognorm(0.5, 0.8))
            if r() < 0.7 and self.s["dept"]:
                self.s["dept"] = self.d.department("urban_management", self.grid)
            self.start_stage("sign_for")
            self.emit("dispatch", disp, "dispatched", {"unit": self.s["dept"] or self.s["area"]})
        self.wait_until(self.lognorm(0.3 * self.allowance("sign_for"), 0.9))
        self.s["handled_by"] = self.handler()
        self.start_stage("handle")
        self.emit("sign_for", self.s["handled_by"], "signed")
        self.handle()
        self.verify_and_close(self.d.grid_worker.get(self.grid))

    def handle(self) -> None:
        r = self.rng.random
        whole = self.lognorm(0.4 * self.allowance("handle"), 0.75)
        self.wait_until(min(0.05 * whole, 2.0))
        who = self.s["handled_by"]
        if self.s["level"] in ("grid", "community", "street") and r() < 0.03:
            nxt = LADDER[LADDER.index(self.s["level"]) + 1]
            self.counts["escalation_count"] += 1
            self.set_unit(nxt)
            self.s["handled_by"] = who = self.handler()
            self.start_stage("handle")
            self.emit("escalate", self.dispatcher(), "escalated", {"reason": "r"})
            self.wait_until(self.lognorm(0.3, 0.8))
        self.emit("start_handling", who, "in_progress")
        if r() < 0.08:  # an extension of half the allowance
            self.wait_until(0.5 * whole)
            amount, unit = self.cat["handle_amount"], self.cat["handle_unit"]
            extra = (max(1, amount // 2), "h" if unit == "working_hours" else "d")
            self.emit(
                "request_extension",
                who,
                "extension_requested",
                {"duration": f"{extra[0]}{extra[1]}"},
                False,
            )
            self.wait_until(self.lognorm(0.5, 0.6))
            self.counts["extension_count"] += 1
            start, card = self.stage_start, self.s["card"]
            self.s["deadline_at"] = self.deadline(start, "handle", extra).isoformat()
            self.s["card"] = "" if card == "red" else card
            self.emit("approve_extension", self.dispatcher(), "extended")
            whole *= 1.4
        if r() < 0.015:  # suspended for a while
            self.wait_until(0.3 * whole)
            self.emit("request_suspension", who, "suspension_requested", {}, False)
            self.wait_until(self.lognorm(0.5, 0.6))
            self.s["suspended"] = True
            stopped = self.t
            self.emit("approve_suspension", self.dispatcher(), "suspended")
            self.at(self.lognorm(3 * WORKDAY_HOURS, 0.8))
            self.s["suspended"] = False
            if self.s["deadline_at"]:
                due = dt.datetime.fromisoformat(self.s["deadline_at"])
                if stopped < due:
                    self.s["deadline_at"] = self.later(
                        due, (self.t - stopped).total_seconds() / 3600 * 0.3
                    ).isoformat()
            self.emit("resume", self.dispatcher(), "in_progress")
        self.wait_until(0.95 * whole)
        self.marks["handled_at"] = self.t
        self.emit("submit_result", who, "handled", {"result": "done"})
        self.end_stage()

    def verify_and_close(self, verifier: int | None) -> None:
        r = self.rng.random
        disp = self.dispatcher()
        if verifier is None or verifier == self.s["handled_by"]:
            verifier = self.d.supervisor
        while True:
            self.at(self.lognorm(0.5, 0.8))
            self.start_stage("verify")
            self.emit("send_for_verification", disp, "verifying", {"verifier_id": verifier}, False)
            self.wait_until(self.lognorm(0.3 * self.allowance("verify"), 0.8))
            fails = self.counts["verify_fail_count"]
            if fails < 3 and r() < (0.06 if fails == 0 else 0.25):
                self.counts["verify_fail_count"] += 1
                self.start_stage("handle")
                self.emit(
                    "verify_fail",
                    verifier,
                    "rework",
                    {"failures": self.counts["verify_fail_count"]},
                    False,
                )
                self.wait_until(self.lognorm(0.3 * self.allowance("handle"), 0.8))
                self.emit("submit_result", self.s["handled_by"], "handled", {"result": "again"})
                self.end_stage()
                continue
            self.end_stage()
            self.emit("verify_pass", verifier, "verified")
            self.at(self.lognorm(0.5, 0.8))
            self.emit("close", disp, "closed")
            self.marks["closed_at"] = self.t
            if r() >= RATED_SHARE.get(self.channel, 0.15):
                return
            self.at(self.lognorm(WORKDAY_HOURS, 0.7))
            x = r()
            satisfaction = (
                "satisfied" if x < 0.75 else "basically_satisfied" if x < 0.92 else "dissatisfied"
            )
            solved = satisfaction != "dissatisfied" or r() < 0.3
            operator = self.rng.choice(self.d.hotline) if self.channel == "hotline" else None
            self.marks["satisfaction"], self.marks["solved"] = satisfaction, solved
            self.emit(
                "rate", operator, "evaluated", {"satisfaction": satisfaction, "solved": solved}
            )
            if satisfaction != "dissatisfied" or r() > 0.4 or self.counts["dissatisfied_count"]:
                return
            self.counts["dissatisfied_count"] += 1
            self.at(self.lognorm(1.0, 0.6))
            self.start_stage("handle")
            self.emit("reopen", operator or disp, "reopened", {"reason": "r"})
            self.wait_until(self.lognorm(0.2, 0.5))
            self.emit("start_handling", self.s["handled_by"], "in_progress")
            self.wait_until(self.lognorm(0.4 * self.allowance("handle"), 0.75))
            self.emit("submit_result", self.s["handled_by"], "handled", {"result": "again"})
            self.end_stage()

    def case_row(self, case_id: int, reported: dt.datetime) -> dict[str, Any]:
        lat, lon = self.d.point[self.grid]
        return {
            "id": case_id,
            "tracking_code": f"B{case_id:010d}",
            "channel": self.channel,
            "taxonomy_version_id": self.d.version_id,
            "category_id": self.cat["id"],
            "title": self.cat["name_zh"],
            "description": f"{self.cat['name_zh']}（基准测试合成案卷）",
            "urgency": self.cat["urgency"] or "normal",
            "lat": round(lat + self.rng.uniform(-0.001, 0.001), 6),
            "lon": round(lon + self.rng.uniform(-0.001, 0.001), 6),
            "grid_id": self.grid,
            "created_at": reported,
            **self.counts,
        }


def case_final(row: dict[str, Any], events: list[tuple[Any, ...]], sim: Sim) -> None:
    """The case row as its last event left it."""
    _kind, at, _actor, _f, state, _data, snap, _p = events[-1]
    row.update(
        state=state,
        version=len(events),
        updated_at=at,
        supervised=snap["supervised"],
        card=snap["card"],
        level=snap["level"],
        unit_department_id=snap["dept"],
        unit_area_id=snap["area"],
        handled_by_id=snap["handled_by"],
        stage=snap["stage"],
        deadline_at=snap["deadline_at"],
        whistled=any(e[0] == "whistle" for e in events),
    )
    for name in ("filed_at", "handled_at", "closed_at"):
        value = sim.marks.get(name)
        row[name] = value if value is not None and value <= at else None
    if state == "evaluated" or any(e[0] == "rate" for e in events):
        row["satisfaction"] = sim.marks.get("satisfaction", "")
        row["solved"] = sim.marks.get("solved")


# --- Loading --------------------------------------------------------------------------------


def arrivals(
    n: int, start: dt.date, end: dt.date, cal: Any, rng: np.random.Generator
) -> np.ndarray:
    """`n` report times (epoch seconds, sorted): weekday and daytime heavy, slowly rising."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    w = np.array(
        [
            (WEEKDAY_WEIGHT[d.weekday()] if cal.is_working_day(d) or d.weekday() >= 5 else 0.4)
            * (1.0 if cal.is_working_day(d) or d.weekday() < 5 else 0.8)
            * (0.85 + 0.3 * i / len(days))
            for i, d in enumerate(days)
        ]
    )
    day_idx = rng.choice(len(days), size=n, p=w / w.sum())
    hours = np.array(HOUR_WEIGHT) / sum(HOUR_WEIGHT)
    hour = rng.choice(24, size=n, p=hours)
    second = rng.integers(0, 3600, size=n)
    midnight = np.array(
        [dt.datetime.combine(d, dt.time(0), SHANGHAI).timestamp() for d in days], dtype=np.int64
    )
    return np.sort(midnight[day_idx] + hour * 3600 + second)


def load(n_cases: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from tqdm import tqdm

    from gridlink.assessment.facts import CaseInfo, EventInfo, case_contributions
    from gridlink.assessment.models import METRICS, CaseFacts, IndicatorDay
    from gridlink.assessment.rollups import LeafKey, _as_rows, leaf_rows
    from gridlink.assessment.rules import rulebook
    from gridlink.cases.models import Case, CaseEvent
    from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
    from gridlink.core.worktime import current_calendar
    from gridlink.demo.plan import build_plan
    from gridlink.demo.seed import demo_seed

    now = dt.datetime.now(SHANGHAI).replace(microsecond=0)
    first = (now.date().replace(day=1) - dt.timedelta(days=31 * (MONTHS - 1))).replace(day=1)
    started = time.perf_counter()
    call_command("calendar", "seed", "--years", f"{first.year}-{now.year + 1}", verbosity=0)
    taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
    demo_seed(plan=build_plan(scale="district", seed=SEED, people=False))
    print(f"calendar, taxonomy and district tree: {time.perf_counter() - started:.1f} s")

    rng = random.Random(SEED)
    d = District(rng)
    cal = current_calendar()
    rules = rulebook()
    np_rng = np.random.default_rng(SEED)
    times = arrivals(n_cases, first, now.date(), cal, np_rng)
    times = times[times < now.timestamp()]
    grids = np_rng.choice(len(d.grids), size=len(times), p=d.grid_p)
    cats = np_rng.choice(len(d.categories), size=len(times), p=d.category_p)
    channel_names = list(CHANNELS)
    channel_w = np.array(list(CHANNELS.values()), dtype=float)
    channels = np_rng.choice(len(channel_names), size=len(times), p=channel_w / channel_w.sum())

    cases, events, facts = Table(Case), Table(CaseEvent), Table(CaseFacts)
    metric_index = {m: i for i, m in enumerate(METRICS)}
    # The leaf rows, as `rollups.leaf_rows` keys them: (unit, grid, category, ISO day).
    rollup: dict[LeafKey, list[int]] = {}
    rollup_columns = ["unit", "grid_id", "category", "day", *METRICS]
    written = {"cases": 0, "events": 0, "facts": 0, "rollups": 0}
    timing = defaultdict(float)

    def flush_rollups(before_day: str | None) -> None:
        done = sorted(k for k in rollup if before_day is None or k[3] < before_day)
        if not done:
            return
        lines = [
            f"{u}\t{g}\t{c}\t{day}\t" + "\t".join(map(str, rollup.pop((u, g, c, day))))
            for u, g, c, day in done
        ]
        _copy(IndicatorDay._meta.db_table, rollup_columns, "\n".join(lines) + "\n")
        written["rollups"] += len(lines)

    def flush(before_day: str | None) -> None:
        t0 = time.perf_counter()
        written["cases"] += cases.flush()
        written["events"] += events.flush()
        written["facts"] += facts.flush()
        flush_rollups(before_day)
        timing["copy"] += time.perf_counter() - t0

    sim = Sim(d, cal, rng, now)
    event_id = 0
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        # Rows are consistent by construction: skip the per-row foreign-key triggers.
        cursor.execute("SET session_replication_role = replica")
    bar = tqdm(total=len(times), desc="cases", unit="case", file=sys.stderr, mininterval=2)
    t_load = time.perf_counter()
    for i, ts in enumerate(times):
        t0 = time.perf_counter()
        at = dt.datetime.fromtimestamp(int(ts), SHANGHAI)
        grid = d.grids[grids[i]]["pk"]
        cat = d.categories[cats[i]]
        row, evs = sim.run(i + 1, at, grid, cat, channel_names[channels[i]])
        evs = [e for e in evs if e[1] <= now]
        case_final(row, evs, sim)
        t1 = time.perf_counter()
        cases.add(row)
        infos = []
        for kind, e_at, actor, from_state, to_state, data, snap, public in evs:
            event_id += 1
            events.add(
                {
                    "id": event_id,
                    "case_id": i + 1,
                    "kind": kind,
                    "actor_id": actor,
                    "from_state": from_state,
                    "to_state": to_state,
                    "data": data,
                    "public": public,
                    "snapshot": snap,
                    "created_at": e_at,
                }
            )
            infos.append(
                EventInfo(
                    kind=kind,
                    at=e_at,
                    actor_id=actor,
                    from_state=from_state,
                    to_state=to_state,
                    data=data,
                    snapshot=snap,
                )
            )
        t2 = time.perf_counter()
        # As `rollups.rollups_rebuild` does it: the case has no reporter (not contactable)
        # and no exemption; its contributions go to the leaf rows of its grid, and to its
        # `CaseFacts` (so a rebuild or a later event on this database gives the same rows).
        own = case_contributions(CaseInfo(cat["code"], d.chain[grid]), infos, cal, rules)
        for key, changes in leaf_rows(own, grid).items():
            counters = rollup.get(key)
            if counters is None:
                counters = rollup[key] = [0] * len(METRICS)
            for metric, value in changes.items():
                counters[metric_index[metric]] += value
        facts.add(
            {
                "id": i + 1,
                "case_id": i + 1,
                "grid_id": grid,
                "contributions": _as_rows(own),
                "computed_at": now,
            }
        )
        t3 = time.perf_counter()
        timing["simulate"] += t1 - t0
        timing["rows"] += t2 - t1
        timing["contributions"] += t3 - t2
        if len(cases.lines) >= BATCH:
            flush(at.date().isoformat())
            bar.update(BATCH)
            bar.set_postfix(
                events=written["events"], rollups=written["rollups"], pending=len(rollup)
            )
    flush(None)
    bar.update(len(times) - bar.n)
    bar.close()
    load_seconds = time.perf_counter() - t_load
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = origin")
        for model in (Case, CaseEvent, CaseFacts):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (IndicatorDay, CaseFacts, Case, CaseEvent):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('cases', %s) ON CONFLICT (key) DO UPDATE "
            "SET value = EXCLUDED.value",
            [str(n_cases)],
        )
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('layout', %s) ON CONFLICT (key) DO UPDATE "
            "SET value = EXCLUDED.value",
            [LAYOUT],
        )
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('loaded_at', %s) ON CONFLICT (key) DO "
            "UPDATE SET value = EXCLUDED.value",
            [now.isoformat()],
        )
    print(
        f"generated and wrote {written['cases']:,} cases, {written['events']:,} events, "
        f"{written['facts']:,} case facts, {written['rollups']:,} rollup rows "
        f"in {load_seconds:.0f} s "
        f"({written['cases'] / load_seconds:,.0f} cases/s): simulate {timing['simulate']:.0f} s, "
        f"rows {timing['rows']:.0f} s, contributions {timing['contributions']:.0f} s, "
        f"COPY {timing['copy']:.0f} s; VACUUM ANALYZE {time.perf_counter() - t0:.0f} s"
    )


# --- Measuring ------------------------------------------------------------------------------


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms"
    )


def timed(label: str, fn: Callable[[], object], reps: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    print(f"  {label:<34} {_ms(samples)}   (n={reps})")
    return samples


def scorecards_timed(month: Any) -> bool:
    """Time `gridlink.assessment.scorecards.scorecard_compute` for every level (the shipped
    urban-management scheme for streets, communities and grids, the hotline three-rates
    scheme for departments); False when the scorecards are not there."""
    try:
        from gridlink.assessment.schemes import (
            HOTLINE_CODE,
            URBAN_CODE,
            scheme_get,
            schemes_ensure_defaults,
        )
        from gridlink.assessment.scorecards import scorecard_compute
    except ImportError:
        return False
    schemes_ensure_defaults()
    plan = [
        (URBAN_CODE, "street"),
        (URBAN_CODE, "community"),
        (URBAN_CODE, "grid"),
        (HOTLINE_CODE, "department"),
    ]
    print("monthly scorecards of every unit (scorecards.scorecard_compute, with the change")
    print("against the month before, so two months of sums per unit):")
    for run in (1, 2):
        parts = []
        total = 0.0
        units = 0
        for code, level in plan:
            scheme = scheme_get(code)
            t0 = time.perf_counter()
            card = scorecard_compute(scheme=scheme, period=month, level=level)
            spent = time.perf_counter() - t0
            total += spent
            units += len(card.rows)
            parts.append(f"{level} {len(card.rows)} in {spent:.2f} s")
        print(f"  run {run}: {units:,} units in {total:.2f} s ({', '.join(parts)})")
    return True


def periods() -> tuple[Any, Any]:
    from gridlink.assessment.selectors import period_parse

    today = dt.datetime.now(SHANGHAI).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    month = period_parse(period=f"{last.year}-{last.month:02d}")
    year_start = (last.replace(day=1) - dt.timedelta(days=334)).replace(day=1)
    year = period_parse(start=year_start.isoformat(), end=last.isoformat())
    return month, year


def grouped_sums(month: Any, units: list[str]) -> None:
    """The alternative to one `counter_sums` per unit: `selectors.counter_sums_many`, the
    grouped read the scorecards use (by unit for departments, by grid for the areas, whose
    sums are then added up every grid's path), then every formula."""
    from gridlink.assessment.indicators import INDICATORS, indicator_value
    from gridlink.assessment.selectors import counter_sums_many, unit_parse

    parsed = [unit_parse(u) for u in units]
    print(
        f"the same {len(parsed):,} units' monthly indicators from grouped queries "
        "(counter_sums_many):"
    )
    for run in (1, 2):
        t0 = time.perf_counter()
        sums = counter_sums_many(parsed, month)
        t1 = time.perf_counter()
        for unit in parsed:
            for indicator in INDICATORS:
                indicator_value(indicator, sums[unit.key])
        t2 = time.perf_counter()
        print(f"  run {run}: {t2 - t0:.2f} s (sums {t1 - t0:.2f} s, formulas {t2 - t1:.2f} s)")


def measure(reps: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridlink.assessment.models import IndicatorDay
    from gridlink.assessment.selectors import counter_sums, indicator_values, unit_parse
    from gridlink.cases.models import Case, CaseEvent
    from gridlink.geo.models import Area, Department, Level

    month, year = periods()
    rng = random.Random(SEED)
    streets = list(Area.objects.filter(level=Level.STREET).values_list("code", flat=True))
    grids = list(Area.objects.filter(level=Level.GRID).values_list("code", flat=True))
    district = Area.objects.get(level=Level.DISTRICT).code

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database())), "
            "pg_size_pretty(pg_total_relation_size(%s)), "
            "pg_size_pretty(pg_total_relation_size(%s))",
            [IndicatorDay._meta.db_table, CaseEvent._meta.db_table],
        )
        db_size, rollup_size, events_size = cursor.fetchone()
    print(
        f"rows: {Case.objects.count():,} cases, {CaseEvent.objects.count():,} case events, "
        f"{IndicatorDay.objects.count():,} IndicatorDay rows"
    )
    print(
        f"size: database {db_size}, IndicatorDay {rollup_size} (with indexes), "
        f"CaseEvent {events_size}"
    )
    print(f"periods: month {month.start}–{month.end}, year {year.start}–{year.end}")

    def grid(period: Any) -> Callable[[], object]:
        return lambda: indicator_values(unit_parse(f"area:{rng.choice(grids)}"), period)

    def street(period: Any) -> Callable[[], object]:
        return lambda: indicator_values(unit_parse(f"area:{rng.choice(streets)}"), period)

    def whole(period: Any) -> Callable[[], object]:
        return lambda: indicator_values(unit_parse(f"area:{district}"), period)

    print(f"indicator queries (every indicator, unit_parse + indicator_values), {reps} runs:")
    timed("a random grid, one month", grid(month), reps)
    timed("a random street, one month", street(month), reps)
    timed("the district, one month", whole(month), reps)
    timed("a random grid, 12 months", grid(year), reps)
    timed("a random street, 12 months", street(year), reps)
    timed("the district, 12 months", whole(year), reps)

    units = [
        f"area:{c}"
        for c in Area.objects.filter(
            level__in=[Level.STREET, Level.COMMUNITY, Level.GRID]
        ).values_list("code", flat=True)
    ] + [f"dept:{c}" for c in Department.objects.values_list("code", flat=True)]
    if not scorecards_timed(month):
        print("no gridlink.assessment.scorecards: timing the indicators of every unit instead")
    print(
        f"every indicator (indicator_values) of {len(units):,} units (streets, communities, "
        "grids, departments) for one month, one unit at a time:"
    )
    parsed = [unit_parse(u) for u in units]
    for run in (1, 2):
        t0 = time.perf_counter()
        for unit in parsed:
            indicator_values(unit, month)
        spent = time.perf_counter() - t0
        print(f"  run {run}: {spent:.2f} s ({spent / len(parsed) * 1000:.2f} ms a unit)")

    grouped_sums(month, units)

    whole_unit = unit_parse(f"area:{district}")
    with CaptureQueriesContext(connection) as captured:
        counter_sums(whole_unit, year)
    print("EXPLAIN (ANALYZE, BUFFERS) of the district's 12-month sums (counter_sums):")
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            print(f"-- {query['sql'][:160]}…")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            for (line,) in cursor.fetchall():
                print(f"   {line}")


if __name__ == "__main__":
    main()
