"""Every indicator of `gridlink.assessment.indicators.INDICATORS` on hand-built case histories
with answers worked out by hand (docs/indicators.md defines the counters).

Each history is driven through the real services (`case_create`, `case_transition`,
`deadline_sweep`, the joint-handling tasks) at frozen times; the rollups follow in the same
transactions, and the figures are read back with `indicator_values(unit, period)` and, in a
few tests, through GET /api/v1/assessment/indicators.

Working time (docs/working-calendar.md): 08:30–12:00 and 13:30–17:30, Monday to Friday, on
the seeded calendar. March 2026 has no holiday; National Day 2026 is Thu 1 – Wed 7 October
(rest), 30 September (Wed) and 8 October (Thu) are working days. Category E0102 (exposed
garbage): sign for within 1 working hour, handle within 4, verify within 2.

Geography (tests/conftest.py): district 370211 ⊃ street A 370211001 ⊃ community A1
370211001001 ⊃ grid A1-1 370211001001001 (the point A11); street B 370211002 ⊃ … grid
370211002001001 (the point B11).

The last tests (`test_definition_*`) state behaviour the current definitions get wrong; they
are expected to fail until facts.py / indicators.py are corrected (see each docstring).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from gridlink.assessment import facts
from gridlink.assessment.indicators import BY_KEY, INDICATORS
from gridlink.assessment.selectors import (
    counter_sums,
    indicator_cases,
    indicator_values,
    period_parse,
    unit_parse,
)
from gridlink.cases.models import Case, CasePhoto, CaseTask
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.joint import task_report_in
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.services.transitions import case_transition
from gridlink.core.worktime import current_calendar
from tests.cases_support import A11, CATEGORY, build_world

SH = ZoneInfo("Asia/Shanghai")
B11 = {"lat": 35.85, "lon": 120.25}  # grid 370211002001001, street B
DISTRICT, STREET_A, STREET_B = "area:370211", "area:370211001", "area:370211002"
COMMUNITY_A1, GRID_A11 = "area:370211001001", "area:370211001001001"


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


class Flow:
    """Drives cases through the real services at given moments."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.photos = 0
        self.rating_keys: dict[int, str] = {}  # the anonymous reporters' rating keys

    def person(self, name: str) -> Any:
        from gridlink.accounts.models import User

        found = self.world.people.get(name) or getattr(self.world.personas, name, None)
        return found or User.objects.get(username=name)

    def photo(self) -> str:
        self.photos += 1
        key = f"{self.photos:032x}"
        CasePhoto.objects.create(key=key, file="case-photos/x.png", content_type="image/png",
                                 width=1, height=1, size=1, sha256="0" * 64)  # fmt: skip
        return key

    def report(self, when: dt.datetime, *, where: dict | None = None, by: str = "") -> Case:
        actor = self.person(by) if by else None
        channel = "grid_patrol" if by else "resident_web"
        report = Report(channel=channel, category_code=CATEGORY, description="垃圾堆放无人清理",
                        anonymous=not by, **(where or A11))  # fmt: skip
        with time_machine.travel(when, tick=False):
            created = case_create(actor=actor, report=report, now=when)
        self.rating_keys[created.case.pk] = created.rating_key
        return created.case

    def do(self, case: Case, action: str, when: dt.datetime, by: str = "", **inputs: Any) -> Case:
        """`by` empty: the system takes the step (no person is judged on it); "reporter": the
        anonymous reporter, with their rating key."""
        fresh = Case.objects.get(pk=case.pk)
        if by == "reporter":
            with time_machine.travel(when, tick=False):
                return case_transition(actor=None, case_id=fresh.pk, action=action,
                                       version=fresh.version, inputs=inputs, now=when,
                                       rating_key=self.rating_keys[fresh.pk])  # fmt: skip
        if action in ("submit_result", "handle_on_the_spot"):
            inputs.setdefault("evidence", [self.photo()])
            inputs.setdefault("result", "已清理")
        if action in ("invalidate", "return_not_our_duty", "verify_fail", "request_suspension",
                      "request_extension", "reject_return", "escalate", "supervise"):  # fmt: skip
            inputs.setdefault("reason", "说明")
        actor = self.person(by) if by else None
        with time_machine.travel(when, tick=False):
            return case_transition(actor=actor, case_id=fresh.pk, action=action,
                                   version=fresh.version, inputs=inputs, system=actor is None,
                                   now=when)  # fmt: skip

    def unit(self, target: str) -> str:
        if target in self.world.departments:
            return f"department:{self.world.departments[target].pk}"
        return f"area:{self.world.tree.area(target).pk}"

    def filed(self, reported: dt.datetime, accepted: dt.datetime, filed: dt.datetime,
              **kw: Any) -> Case:  # fmt: skip
        case = self.report(reported, **kw)
        case = self.do(case, "accept", accepted, "district_disp")
        return self.do(case, "file", filed, "district_disp")

    def dispatch(self, case: Case, when: dt.datetime, target: str) -> Case:
        return self.do(case, "dispatch", when, "district_disp", unit_id=self.unit(target))

    def verify_and_close(self, case: Case, start: dt.datetime, handler_verifier: str = "grid1"):
        """Send for verification at `start`, pass 10 minutes later, close 10 minutes after."""
        verifier = self.person(handler_verifier)
        case = self.do(case, "send_for_verification", start, "district_disp",
                       verifier_id=verifier.pk)  # fmt: skip
        case = self.do(case, "verify_pass", start + dt.timedelta(minutes=10), handler_verifier)
        return self.do(case, "close", start + dt.timedelta(minutes=20), "district_disp")

    def sweep(self, when: dt.datetime) -> dict[str, int]:
        with time_machine.travel(when, tick=False):
            return deadline_sweep(now=when).as_dict()


@pytest.fixture
def flow(world) -> Flow:
    return Flow(world)


def values(unit: str, period: str = "", *, start: str = "", end: str = "") -> dict[str, Any]:
    found = indicator_values(unit_parse(unit), period_parse(period=period, start=start, end=end))
    return {v.indicator.key: v for v in found}


def nvd(unit: str, key: str, period: str = "", **kw: str) -> tuple[int, int | None, float | None]:
    """(numerator, denominator, value) of one indicator."""
    v = values(unit, period, **kw)[key]
    return v.numerator, v.denominator, v.value


def sums(unit: str, period: str) -> dict[str, int]:
    return counter_sums(unit_parse(unit), period_parse(period=period))


# --- A whole cycle across National Day: mean accept and handle hours, period boundaries --------


def test_a_cycle_across_national_day_and_the_month_boundary(flow):
    # Reported Wed 30 Sep 16:45; accepted Thu 8 Oct 09:15, after the holiday (1–7 Oct, with
    # the weekend 3–4 Oct inside it): 16:45–17:30 = 45 min + 08:30–09:15 = 45 min → 90 min.
    case = flow.report(at(9, 30, 16, 45))
    case = flow.do(case, "accept", at(10, 8, 9, 15), "district_disp")
    # Filed 09:20: 45 + 50 = 95 working minutes after the report ≤ 120 → on time.
    case = flow.do(case, "file", at(10, 8, 9, 20), "district_disp")
    case = flow.dispatch(case, at(10, 8, 9, 30), "UM")
    assert case.deadline_at == at(10, 8, 10, 30)  # sign for within 1 working hour
    case = flow.do(case, "sign_for", at(10, 8, 10, 0), "h_UM")  # on time → responded
    # Handle within 4 working hours of 10:00: 10:00–12:00 (2 h) + 13:30–15:30 (2 h).
    assert case.deadline_at == at(10, 8, 15, 30)
    case = flow.do(case, "start_handling", at(10, 8, 10, 10), "h_UM")
    # Handled 15:00, on time; 10:00–12:00 = 120 min + lunch skipped + 13:30–15:00 = 90 min.
    case = flow.do(case, "submit_result", at(10, 8, 15, 0), "h_UM")
    case = flow.verify_and_close(case, at(10, 8, 15, 10))
    case = flow.do(case, "rate", at(10, 9, 10, 0), "reporter", satisfaction="satisfied",
                   solved=True)  # fmt: skip

    # September holds the report and, in the report's cohort, its filing (on 8 October):
    # filed 1 of 1 valid report, on time; no extension.
    sep = values(DISTRICT, "2026-09")
    assert sep["reports"].value == 1
    assert (sep["filing_rate"].numerator, sep["filing_rate"].denominator) == (1, 1)
    assert sep["filing_rate"].value == 100.0
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-09") == (1, 1, 100.0)
    assert nvd(DISTRICT, "extension_rate", "2026-09") == (0, 1, 0.0)
    for key in ("mean_accept_hours", "closing_rate", "response_rate", "handling_rate"):
        assert sep[key].value is None, key
    assert values(DISTRICT, "2026-Q3")["reports"].value == 1

    # October holds everything after; no report in the month (no filing denominator).
    oct_ = values(DISTRICT, "2026-10")
    assert oct_["reports"].value == 0
    assert (oct_["filing_rate"].numerator, oct_["filing_rate"].denominator) == (0, 0)
    assert oct_["filing_rate"].value is None
    expected = {
        "on_time_filing_rate": (0, 0, None),
        "dispatch_accuracy": (1, 1, 100.0),
        "response_rate": (1, 1, 100.0),
        "handling_rate": (1, 1, 100.0),
        "on_time_handling_rate": (1, 1, 100.0),
        "closing_rate": (1, 1, 100.0),
        "on_time_closing_rate": (1, 1, 100.0),
        "rework_rate": (0, 1, 0.0),
        "extension_rate": (0, 0, None),
        "mean_accept_hours": (90, 1, 1.5),
        "mean_handle_hours": (210, 1, 3.5),
        "resolution_rate": (1, 1, 100.0),
        "satisfaction_rate": (1, 1, 100.0),
        "closed_in_grid_rate": (0, 1, 0.0),  # closed at district-department level
        "closed_in_community_rate": (0, 1, 0.0),
        "closed_in_street_rate": (0, 1, 0.0),
        "whistle_rate": (0, 1, 0.0),  # one case at street level or above, not whistled
        "overdue_count": (0, None, 0.0),
        "rework_count": (0, None, 0.0),
        "failed_verification_3_count": (0, None, 0.0),
    }
    for key, want in expected.items():
        v = oct_[key]
        assert (v.numerator, v.denominator, v.value) == want, key

    # A range over both months sees the whole case: filed 1 of 1.
    both = values(DISTRICT, start="2026-09-01", end="2026-10-31")
    assert both["filing_rate"].value == 100.0 and both["reports"].value == 1
    # Day by day: the acceptance and filing on 8 Oct, the rating on 9 Oct.
    assert nvd(DISTRICT, "mean_accept_hours", "2026-10-08") == (90, 1, 1.5)
    assert nvd(DISTRICT, "satisfaction_rate", "2026-10-08")[1] == 0
    assert nvd(DISTRICT, "satisfaction_rate", "2026-10-09") == (1, 1, 100.0)
    # ISO week 41 (5–11 Oct) holds October's flows.
    assert values(DISTRICT, "2026-W41")["closing_rate"].value == 100.0

    # The department: dispatched, responded, handled, closed; no area counters (reports).
    um = values("dept:UM", "2026-10")
    assert um["response_rate"].value == 100.0 and um["closing_rate"].value == 100.0
    assert um["mean_handle_hours"].value == 3.5
    assert um["reports"].value == 0 and um["filing_rate"].denominator == 0
    assert values("dept:HS", "2026-10")["closing_rate"].denominator == 0
    # The street and community it lies in see the same; street B nothing.
    assert values(STREET_A, "2026-10")["mean_accept_hours"].value == 1.5
    assert values(GRID_A11, "2026-09")["reports"].value == 1
    assert values(STREET_B, "2026-09")["reports"].value == 0
    # The handler as a person: one result handed in on time.
    person = sums("user:h_UM", "2026-10")
    assert (person["handled"], person["handled_on_time"]) == (1, 1)
    assert person["reported"] == 0


# --- Levels: closed at grid, community, street; area subtree vs a street; office units --------


def test_closed_at_grid_community_and_street_levels(flow, world):
    tree = world.tree
    # Grid: grid worker grid1 reports on patrol and handles it on the spot (files it too).
    g = flow.report(at(3, 2, 9, 0), by="grid1")
    g = flow.do(g, "handle_on_the_spot", at(3, 2, 9, 30), "grid1")
    g = flow.verify_and_close(g, at(3, 2, 10, 0), handler_verifier="grid1b")
    # Community: dispatched to community A1's office; its staff sign, handle.
    c = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 5), at(3, 2, 9, 10))
    c = flow.dispatch(c, at(3, 2, 9, 20), tree.communities[0].code)
    c = flow.do(c, "sign_for", at(3, 2, 9, 30), "comm_staff")
    c = flow.do(c, "start_handling", at(3, 2, 9, 35), "comm_staff")
    c = flow.do(c, "submit_result", at(3, 2, 10, 30), "comm_staff")
    c = flow.verify_and_close(c, at(3, 2, 11, 0))
    # Street: dispatched to street A's office; the system stands in for its staff.
    s = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 5), at(3, 2, 9, 10))
    s = flow.dispatch(s, at(3, 2, 9, 20), tree.streets[0].code)
    s = flow.do(s, "sign_for", at(3, 2, 9, 30))
    s = flow.do(s, "start_handling", at(3, 2, 9, 35))
    s = flow.do(s, "submit_result", at(3, 2, 10, 30))
    s = flow.verify_and_close(s, at(3, 2, 11, 0))
    # A department case in street B.
    d = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 5), at(3, 2, 9, 10), where=B11)
    d = flow.dispatch(d, at(3, 2, 9, 20), "UM")
    d = flow.do(d, "sign_for", at(3, 2, 9, 30), "h_UM")
    d = flow.do(d, "start_handling", at(3, 2, 9, 35), "h_UM")
    d = flow.do(d, "submit_result", at(3, 2, 10, 30), "h_UM")
    d = flow.verify_and_close(d, at(3, 2, 11, 0), handler_verifier="supervisor")

    # The district (with its subtree): 4 closed — grid 1, community 1, street 1, dept 1.
    district = values(DISTRICT, "2026-03")
    assert (district["closed_in_grid_rate"].numerator,
            district["closed_in_grid_rate"].denominator) == (1, 4)  # fmt: skip
    assert district["closed_in_grid_rate"].value == 25.0
    assert district["closed_in_community_rate"].value == 50.0
    assert district["closed_in_street_rate"].value == 75.0
    assert district["reports"].value == 4
    # Street cases: the street office case and the department case; none whistled.
    assert nvd(DISTRICT, "whistle_rate", "2026-03") == (0, 2, 0.0)
    # Street A holds three of them; street B the department case.
    assert nvd(STREET_A, "closed_in_grid_rate", "2026-03") == (1, 3, 33.33)
    assert nvd(STREET_A, "closed_in_community_rate", "2026-03") == (2, 3, 66.67)
    assert nvd(STREET_A, "closed_in_street_rate", "2026-03") == (3, 3, 100.0)
    assert nvd(STREET_B, "closed_in_street_rate", "2026-03") == (0, 1, 0.0)
    assert nvd(STREET_B, "reports", "2026-03")[2] == 1.0
    # The grid (an area) holds the three street-A cases; the grid office only its own.
    assert nvd(GRID_A11, "closing_rate", "2026-03") == (3, 3, 100.0)
    assert nvd("office:370211001001001", "closed_in_grid_rate", "2026-03") == (1, 1, 100.0)
    # Office units: the responsible unit, not the area — community A1's office closed one.
    assert nvd("office:370211001001", "closed_in_community_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("office:370211001001", "closed_in_grid_rate", "2026-03") == (0, 1, 0.0)
    assert nvd("office:370211001001", "response_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("office:370211001", "closed_in_street_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("office:370211001", "closed_in_community_rate", "2026-03") == (0, 1, 0.0)
    # Office units carry no area counters.
    assert values("office:370211001001", "2026-03")["reports"].value == 0
    # On-the-spot: accepted and filed at once (30 working minutes), handled without a
    # handle clock (no handle_timed), due for handling once.
    assert nvd("office:370211001001001", "handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("office:370211001001001", "mean_handle_hours", "2026-03")[1] == 0
    assert nvd(GRID_A11, "mean_accept_hours", "2026-03") == (30 + 5 + 5, 3, 0.22)
    # The grid worker as a person handled one case.
    assert sums("user:grid1", "2026-03")["handled"] == 1
    assert sums("user:comm_staff", "2026-03")["handled"] == 1


# --- Extension: on time against the extended deadline ------------------------------------------


def test_extension_moves_the_deadline_and_counts_in_the_extension_rate(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))  # a second, never extended
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 30), "h_UM")
    # 4 working hours from Mon 09:30: 09:30–12:00 (2.5 h) + 13:30–15:00 (1.5 h).
    assert case.deadline_at == at(3, 2, 15, 0)
    case = flow.do(case, "request_extension", at(3, 2, 10, 0), "h_UM", duration="1d")
    case = flow.do(case, "endorse_extension", at(3, 2, 10, 15), "head_UM")  # two-step approval
    case = flow.do(case, "approve_extension", at(3, 2, 10, 30), "district_disp")
    # One working day more: working days end at the close of the day (add_working_days), so
    # Mon 15:00 + 1 working day = the end of Tuesday, 17:30.
    assert case.deadline_at == at(3, 3, 17, 30)
    # Past the original deadline: no red card (a yellow one, a working day before).
    assert flow.sweep(at(3, 2, 16, 0))["red"] == 0
    case = flow.do(case, "submit_result", at(3, 3, 14, 0), "h_UM")
    case = flow.verify_and_close(case, at(3, 3, 14, 10))

    march = values(DISTRICT, "2026-03")
    assert (march["extension_rate"].numerator, march["extension_rate"].denominator) == (1, 2)
    assert march["extension_rate"].value == 50.0
    assert nvd(DISTRICT, "on_time_handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "overdue_count", "2026-03")[0] == 0
    # Mon 09:30–12:00 150 + 13:30–17:30 240 + Tue 08:30–12:00 210 + 13:30–14:00 30 = 630.
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (630, 1, 10.5)
    # The extension is the department's: dept:UM extended 1, filed is an area counter.
    assert sums("dept:UM", "2026-03")["extended"] == 1
    assert nvd("dept:UM", "extension_rate", "2026-03")[1] == 0
    # Filing: 08:40 → 08:55 = 15 working minutes, on time, both cases.
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-03") == (2, 2, 100.0)
    assert nvd(DISTRICT, "mean_accept_hours", "2026-03") == (20, 2, 0.17)


# --- Suspension: the clock stops, no card, on time after resuming ------------------------------


def test_a_suspended_case_never_comes_due_while_suspended(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 30), "h_UM")
    assert case.deadline_at == at(3, 2, 15, 0)
    case = flow.do(case, "request_suspension", at(3, 2, 10, 0), "h_UM")
    case = flow.do(case, "endorse_suspension", at(3, 2, 10, 15), "head_UM")  # two-step approval
    case = flow.do(case, "approve_suspension", at(3, 2, 10, 30), "district_disp")
    # Two days later, long past the original deadline: suspended cases get no card.
    assert flow.sweep(at(3, 4, 10, 0)) == {"yellow": 0, "red": 0, "escalated": 0,
                                           "supervised": 0, "task_yellow": 0,
                                           "task_red": 0}  # fmt: skip
    assert nvd(DISTRICT, "overdue_count", "2026-03-03")[0] == 0
    assert nvd(DISTRICT, "closing_rate", "2026-03-03")[1] == 0  # not due
    case = flow.do(case, "resume", at(3, 4, 10, 30), "district_disp")
    # 1 h worked before the pause (09:30–10:30); 3 h left from Wed 10:30: 10:30–12:00 and
    # 13:30–15:00.
    assert case.deadline_at == at(3, 4, 15, 0)
    assert flow.sweep(at(3, 4, 14, 0))["red"] == 0
    case = flow.do(case, "submit_result", at(3, 4, 14, 30), "h_UM")
    case = flow.verify_and_close(case, at(3, 4, 14, 40))

    march = values(DISTRICT, "2026-03")
    assert sums(DISTRICT, "2026-03")["suspended"] == 1
    assert sums("dept:UM", "2026-03")["suspended"] == 1
    for key in ("handling_rate", "on_time_handling_rate", "closing_rate",
                "on_time_closing_rate"):  # fmt: skip
        v = march[key]
        assert (v.numerator, v.denominator, v.value) == (1, 1, 100.0), key
    assert march["overdue_count"].value == 0


# --- Rework: three failed verifications ---------------------------------------------------------


def test_rework_and_three_failed_verifications(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 10), "h_UM")
    case = flow.do(case, "start_handling", at(3, 2, 9, 15), "h_UM")
    case = flow.do(case, "submit_result", at(3, 2, 9, 40), "h_UM")  # 30 min after signing
    grid1 = flow.person("grid1").pk
    for n, (send, fail, again) in enumerate(
        ((at(3, 2, 9, 50), at(3, 2, 10, 0), at(3, 2, 10, 10)),
         (at(3, 2, 10, 20), at(3, 2, 10, 30), at(3, 2, 10, 40)),
         (at(3, 2, 10, 50), at(3, 2, 11, 0), at(3, 2, 11, 10))), start=1):  # fmt: skip
        case = flow.do(case, "send_for_verification", send, "district_disp", verifier_id=grid1)
        case = flow.do(case, "verify_fail", fail, "grid1")
        assert case.verify_fail_count == n
        case = flow.do(case, "submit_result", again, "h_UM")  # 10 minutes after each failure
    assert case.supervised  # the third failure
    case = flow.verify_and_close(case, at(3, 2, 11, 20))

    march = values(DISTRICT, "2026-03")
    # Sent back three times, but one case handled and one case sent back: 1 of 1.
    assert (march["rework_rate"].numerator, march["rework_rate"].denominator) == (1, 1)
    assert march["rework_rate"].value == 100.0
    assert march["rework_count"].value == 3  # the send-backs themselves (deductions)
    assert march["failed_verification_3_count"].value == 1
    # Each handle stage is due once and handled once: 4 of 4, all on time.
    assert nvd(DISTRICT, "handling_rate", "2026-03") == (4, 4, 100.0)
    assert nvd(DISTRICT, "on_time_handling_rate", "2026-03") == (4, 4, 100.0)
    # 30 + 10 + 10 + 10 = 60 working minutes over 4 handle stages.
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (60, 4, 0.25)
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 1, 100.0)
    # The department carries the rework; the person handed in four results.
    assert nvd("dept:UM", "rework_count", "2026-03")[2] == 3
    assert nvd("dept:UM", "failed_verification_3_count", "2026-03")[2] == 1
    assert sums("user:h_UM", "2026-03")["handled"] == 4
    assert nvd("user:h_UM", "rework_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:UM", "rework_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:HS", "rework_count", "2026-03")[2] == 0
    assert nvd("dept:HS", "rework_rate", "2026-03") == (0, 0, None)


# --- Returns: dispatch accuracy ------------------------------------------------------------------


def test_a_return_counts_against_dispatch_accuracy(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "EC")
    case = flow.do(case, "return_not_our_duty", at(3, 2, 9, 20), "h_EC")
    case = flow.dispatch(case, at(3, 2, 9, 30), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 40), "h_UM")

    assert nvd(DISTRICT, "dispatch_accuracy", "2026-03") == (1, 2, 50.0)
    assert nvd(DISTRICT, "response_rate", "2026-03") == (1, 2, 50.0)
    assert nvd("dept:EC", "dispatch_accuracy", "2026-03") == (0, 1, 0.0)
    assert nvd("dept:EC", "response_rate", "2026-03") == (0, 1, 0.0)
    assert nvd("dept:UM", "dispatch_accuracy", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:UM", "response_rate", "2026-03") == (1, 1, 100.0)


def test_a_late_sign_for_is_no_response(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "CC")  # the top: overdue → supervised
    # Sign-for deadline 10:00; signed 10:05 without a sweep in between.
    case = flow.do(case, "sign_for", at(3, 2, 10, 5), "h_CC")
    assert nvd("dept:CC", "response_rate", "2026-03") == (0, 1, 0.0)


# --- Whistle: joint handling -------------------------------------------------------------------


def test_whistle_rate_and_dispatches_per_department(flow, world):
    d = world.departments
    w = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    w = flow.do(w, "whistle", at(3, 2, 9, 0), "district_disp",
                department_ids=[d["UM"].pk, d["HS"].pk], lead_department_id=d["HS"].pk)  # fmt: skip
    w = flow.do(w, "sign_for", at(3, 2, 9, 30), "h_HS")
    plain = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    plain = flow.dispatch(plain, at(3, 2, 9, 0), "UM")
    plain = flow.do(plain, "sign_for", at(3, 2, 9, 30), "h_UM")

    # Two cases reached the street level or above (both at district-department level); one
    # was whistled.
    assert nvd(DISTRICT, "whistle_rate", "2026-03") == (1, 2, 50.0)
    assert nvd(STREET_A, "whistle_rate", "2026-03") == (1, 2, 50.0)
    # Dispatches: one per summoned department plus the plain dispatch.
    assert sums(DISTRICT, "2026-03")["dispatched"] == 3
    assert sums("dept:UM", "2026-03")["dispatched"] == 2
    assert sums("dept:HS", "2026-03")["dispatched"] == 1
    # The whistle rate is the areas' (cases at street level in the area): a department has
    # no street cases and no whistled ones.
    assert nvd("dept:HS", "whistle_rate", "2026-03") == (0, 0, None)
    assert nvd("dept:HS", "response_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:HS", "dispatch_accuracy", "2026-03") == (1, 1, 100.0)


# --- Overdue: red cards, the stock at period end, escalation by the sweep ----------------------


def test_overdue_at_the_top_of_the_ladder_stays_in_the_stock_until_handled(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "CC")
    case = flow.do(case, "sign_for", at(3, 2, 9, 30), "h_CC")
    assert case.deadline_at == at(3, 2, 15, 0)
    result = flow.sweep(at(3, 2, 15, 30))
    assert (result["red"], result["supervised"]) == (1, 1)  # at the top: supervised, still red
    # End of Monday: one case open past its deadline, for the area and the department.
    assert nvd(DISTRICT, "overdue_count", "2026-03-02") == (1, None, 1.0)
    assert nvd("dept:CC", "overdue_count", "2026-03-02")[2] == 1.0
    assert nvd(STREET_B, "overdue_count", "2026-03-02")[2] == 0.0
    # The red card made it due for handling and for closing.
    assert nvd(DISTRICT, "handling_rate", "2026-03-02") == (0, 1, 0.0)
    assert nvd(DISTRICT, "closing_rate", "2026-03-02") == (0, 1, 0.0)
    case = flow.do(case, "start_handling", at(3, 3, 8, 45), "h_CC")
    case = flow.do(case, "submit_result", at(3, 3, 9, 0), "h_CC")  # late
    case = flow.verify_and_close(case, at(3, 3, 9, 10))

    # The stock runs from the beginning: 1 at the end of Monday, 0 from Tuesday on.
    assert nvd(DISTRICT, "overdue_count", "2026-03-02")[2] == 1.0
    assert nvd(DISTRICT, "overdue_count", "2026-03-03")[2] == 0.0
    assert nvd(DISTRICT, "overdue_count", start="2026-03-01", end="2026-03-02")[2] == 1.0
    assert nvd(DISTRICT, "overdue_count", "2026-03")[2] == 0.0
    march = values(DISTRICT, "2026-03")
    # Due for handling once (at the red card), handled once, late.
    assert (march["handling_rate"].numerator, march["handling_rate"].denominator) == (1, 1)
    assert nvd(DISTRICT, "on_time_handling_rate", "2026-03") == (0, 1, 0.0)
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (0, 1, 0.0)
    # Monday 09:30–17:30 = 6.5 h (less lunch) + Tuesday 08:30–09:00 = 0.5 h.
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (420, 1, 7.0)


def test_escalation_by_the_sweep_ends_the_overdue_spell(flow, world):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    result = flow.sweep(at(3, 2, 10, 30))  # sign-for deadline 10:00 passed
    assert (result["red"], result["escalated"]) == (1, 1)
    case.refresh_from_db()
    assert case.unit_department == world.departments["CC"] and case.stage == "handle"
    # Red and escalated at the same moment: the new stage has a new deadline (Mon 16:00);
    # the stock at the end of the day is 0, though the spell started and ended.
    assert sums(DISTRICT, "2026-03-02")["overdue_start"] == 1
    assert nvd(DISTRICT, "overdue_count", "2026-03-02")[2] == 0.0
    assert nvd("dept:UM", "overdue_count", "2026-03-02")[2] == 0.0
    # The red card made the case due to close, for the unit responsible then (UM).
    assert nvd("dept:UM", "closing_rate", "2026-03") == (0, 1, 0.0)
    # Red in the sign-for stage: not yet due for handling.
    assert nvd(DISTRICT, "handling_rate", "2026-03")[1] == 0
    case = flow.do(case, "start_handling", at(3, 2, 10, 40), "h_CC")
    case = flow.do(case, "submit_result", at(3, 2, 11, 30), "h_CC")  # 10:30 → 11:30: 60 min
    case = flow.verify_and_close(case, at(3, 2, 13, 40))

    assert nvd(DISTRICT, "handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (0, 1, 0.0)  # was red once
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (60, 1, 1.0)
    assert nvd("dept:CC", "handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:UM", "response_rate", "2026-03") == (0, 1, 0.0)


# --- Rating: dissatisfied → reopened; satisfaction and resolution ------------------------------


def test_a_dissatisfied_rating_reopens_and_the_case_closes_once(flow):
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 10), "h_UM")
    case = flow.do(case, "start_handling", at(3, 2, 9, 15), "h_UM")
    case = flow.do(case, "submit_result", at(3, 2, 10, 10), "h_UM")
    case = flow.verify_and_close(case, at(3, 2, 10, 20))
    case = flow.do(case, "rate", at(3, 2, 11, 0), "reporter", satisfaction="dissatisfied",
                   solved=False)  # fmt: skip
    assert case.state == "reopened" and case.stage == "handle"
    case = flow.do(case, "start_handling", at(3, 2, 11, 10), "h_UM")
    case = flow.do(case, "submit_result", at(3, 2, 11, 30), "h_UM")
    case = flow.verify_and_close(case, at(3, 2, 13, 30))
    case = flow.do(case, "rate", at(3, 3, 9, 0), "reporter", satisfaction="basically_satisfied",
                   solved=True)  # fmt: skip

    # One case, rated twice: the first rating counts, once (docs/indicators.md, "Ratings").
    march = values(DISTRICT, "2026-03")
    assert (march["satisfaction_rate"].numerator, march["satisfaction_rate"].denominator) == (0, 1)
    assert march["satisfaction_rate"].value == 0.0
    assert nvd(DISTRICT, "resolution_rate", "2026-03") == (0, 1, 0.0)
    # The redo (重办) has its own count, for the areas and the unit that redoes it.
    assert nvd(DISTRICT, "redo_count", "2026-03") == (1, None, 1.0)
    assert nvd("dept:UM", "redo_count", "2026-03") == (1, None, 1.0)
    drill = indicator_cases(unit_parse(DISTRICT), period_parse(period="2026-03"), "redo_count")
    assert [(c["id"], c["value"]) for c in drill["numerator"]] == [(case.pk, 1)]
    rated = indicator_cases(unit_parse(DISTRICT), period_parse(period="2026-03"),
                            "satisfaction_rate")  # fmt: skip
    assert [(c["id"], c["value"]) for c in rated["denominator"]] == [(case.pk, 1)]
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 1, 100.0)  # closed once
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "handling_rate", "2026-03") == (2, 2, 100.0)
    # 09:10 → 10:10 = 60 min; reopened 11:00 → 11:30 = 30 min.
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (90, 2, 0.75)
    # Day by day: the first rating on Monday counts; Tuesday's second rating does not.
    assert nvd(DISTRICT, "satisfaction_rate", "2026-03-02") == (0, 1, 0.0)
    assert nvd(DISTRICT, "satisfaction_rate", "2026-03-03") == (0, 0, None)
    assert nvd("dept:UM", "satisfaction_rate", "2026-03") == (0, 1, 0.0)


# --- Invalid and merged reports; filing on time ------------------------------------------------


def test_filing_rate_leaves_out_invalid_and_merged_reports(flow):
    parent = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 30), at(3, 2, 12, 0))  # 180 min: late
    bad = flow.report(at(3, 2, 9, 0))
    bad = flow.do(bad, "invalidate", at(3, 2, 9, 45), "district_disp")  # 45 min to decide
    dup = flow.report(at(3, 2, 9, 0))
    dup = flow.do(dup, "merge", at(3, 2, 10, 0), "district_disp", parent_case_id=parent.pk)
    waiting = flow.report(at(3, 2, 9, 0))  # never decided
    del bad, dup, waiting

    march = values(DISTRICT, "2026-03")
    assert march["reports"].value == 4
    # 4 reports − 1 invalid − 1 merged = 2 valid; 1 filed.
    assert (march["filing_rate"].numerator, march["filing_rate"].denominator) == (1, 2)
    assert march["filing_rate"].value == 50.0
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-03") == (0, 1, 0.0)
    # Accepted: the parent (30), the invalid one (45), the merged one (60).
    assert nvd(DISTRICT, "mean_accept_hours", "2026-03") == (135, 3, 0.75)


# --- The API: values, drill-down, definitions, bad input, who may read -------------------------


def test_the_api_reads_values_and_drills_down(flow, world):
    case = flow.filed(at(10, 8, 9, 0), at(10, 8, 9, 10), at(10, 8, 9, 20))
    case = flow.dispatch(case, at(10, 8, 9, 30), "UM")
    case = flow.do(case, "sign_for", at(10, 8, 9, 40), "h_UM")
    case = flow.do(case, "start_handling", at(10, 8, 9, 45), "h_UM")
    case = flow.do(case, "submit_result", at(10, 8, 10, 40), "h_UM")
    case = flow.verify_and_close(case, at(10, 8, 11, 0))
    other = flow.report(at(10, 9, 9, 0))

    sup = world.client("supervisor")
    r = sup.get("/api/v1/assessment/indicators",
                {"unit": DISTRICT, "period": "2026-10"})  # fmt: skip
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == {"start": "2026-10-01", "end": "2026-10-31", "label": "2026年10月"}
    got = {i["key"]: i for i in body["indicators"]}
    assert set(got) == {i.key for i in INDICATORS}
    assert (got["filing_rate"]["numerator"], got["filing_rate"]["denominator"]) == (1, 2)
    assert got["filing_rate"]["value"] == 50.0
    assert got["closing_rate"]["value"] == 100.0
    assert got["mean_handle_hours"]["value"] == 1.0  # 09:40 → 10:40
    assert got["reports"]["value"] == 2.0 and got["reports"]["denominator"] is None
    # Chosen indicators over a range; a department.
    r = sup.get("/api/v1/assessment/indicators", {"unit": "dept:UM", "start": "2026-10-08",
                "end": "2026-10-08", "indicators": ["response_rate", "handling_rate"]})  # fmt: skip
    assert r.status_code == 200, r.content
    assert [(i["key"], i["value"]) for i in r.json()["indicators"]] == [
        ("response_rate", 100.0), ("handling_rate", 100.0)]  # fmt: skip
    # Drill-down: the cases behind the filing rate.
    r = sup.get("/api/v1/assessment/indicators/filing_rate/cases",
                {"unit": DISTRICT, "period": "2026-10"})  # fmt: skip
    assert r.status_code == 200, r.content
    drill = r.json()
    assert [c["id"] for c in drill["numerator"]] == [case.pk]
    assert sorted(c["id"] for c in drill["denominator"]) == sorted([case.pk, other.pk])
    # Definitions.
    r = sup.get("/api/v1/assessment/indicators/definitions")
    assert r.status_code == 200
    closing = next(d for d in r.json() if d["key"] == "closing_rate")
    assert closing["numerator"] == ["closed_of_due"] and closing["denominator"] == ["close_due"]
    # A department head reads their own department, not another.
    head = world.client("head_UM")
    assert head.get("/api/v1/assessment/indicators",
                    {"unit": "dept:UM", "period": "2026-10"}).status_code == 200  # fmt: skip
    r = head.get("/api/v1/assessment/indicators", {"unit": "dept:HS", "period": "2026-10"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "unit"
    # A grid worker reads their grid, not the street above it.
    grid = world.client("grid_worker")
    assert grid.get("/api/v1/assessment/indicators",
                    {"unit": GRID_A11, "period": "2026-10"}).status_code == 200  # fmt: skip
    assert grid.get("/api/v1/assessment/indicators",
                    {"unit": STREET_A, "period": "2026-10"}).status_code == 403  # fmt: skip


@pytest.mark.parametrize(
    ("path", "query", "status", "field"),
    [
        ("", {"unit": "area:999999", "period": "2026-10"}, 400, "unit"),
        ("", {"unit": "dept:NOPE", "period": "2026-10"}, 400, "unit"),
        ("", {"unit": "user:nobody", "period": "2026-10"}, 400, "unit"),
        ("", {"unit": "street:370211001", "period": "2026-10"}, 400, "unit"),
        ("", {"unit": DISTRICT, "start": "2026-10-31", "end": "2026-10-01"}, 400, "end"),
        ("", {"unit": DISTRICT, "start": "2025-10-01", "end": "2026-10-02"}, 400, "end"),
        ("", {"unit": DISTRICT, "period": "2026-13"}, 400, "period"),
        ("", {"unit": DISTRICT}, 400, "period"),
        ("", {"unit": DISTRICT, "period": "2026-10", "indicators": "nope"}, 400, "indicators"),
        ("/nope/cases", {"unit": DISTRICT, "period": "2026-10"}, 400, "indicator"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(world, path, query, status, field):
    r = world.client("supervisor").get(f"/api/v1/assessment/indicators{path}", query)
    assert r.status_code == status, r.content
    assert r.json()["errors"][0]["field"] == field


def test_a_year_and_366_days_are_allowed(world):
    assert period_parse(period="2024").end == dt.date(2024, 12, 31)  # 366 days
    assert period_parse(start="2026-01-01", end="2027-01-01").label  # 366 days
    assert period_parse(period="2026-Q4").start == dt.date(2026, 10, 1)
    assert period_parse(period="2026-W41").start == dt.date(2026, 10, 5)
    r = world.client("supervisor").get("/api/v1/assessment/indicators",
                                       {"unit": DISTRICT, "period": "2026"})  # fmt: skip
    assert r.status_code == 200


# --- Rebuild equals the incremental figures on these histories ---------------------------------


def test_the_rebuild_command_gives_the_same_figures(flow):
    case = flow.filed(at(9, 30, 16, 45), at(10, 8, 9, 15), at(10, 8, 9, 20))
    case = flow.dispatch(case, at(10, 8, 9, 30), "UM")
    case = flow.do(case, "sign_for", at(10, 8, 10, 0), "h_UM")
    flow.sweep(at(10, 8, 16, 0))  # red in the handle stage → escalated to CC
    before = {u: values(u, start="2026-09-01", end="2026-10-31")
              for u in (DISTRICT, "dept:UM", "dept:CC")}  # fmt: skip
    call_command("assessment", "rebuild", verbosity=0, stdout=io.StringIO())
    after = {u: values(u, start="2026-09-01", end="2026-10-31") for u in before}
    assert {u: {k: (v.numerator, v.denominator, v.value) for k, v in vs.items()}
            for u, vs in before.items()} == {
        u: {k: (v.numerator, v.denominator, v.value) for k, v in vs.items()}
        for u, vs in after.items()}  # fmt: skip


def test_every_indicator_is_checked_here():
    """A guard: a new indicator must get a hand-built case in this file."""
    checked = {
        "filing_rate", "on_time_filing_rate", "dispatch_accuracy", "handling_rate",
        "on_time_handling_rate", "closing_rate", "on_time_closing_rate", "rework_rate",
        "extension_rate", "overdue_count", "mean_accept_hours", "mean_handle_hours",
        "response_rate", "resolution_rate", "satisfaction_rate", "closed_in_grid_rate",
        "closed_in_community_rate", "closed_in_street_rate", "whistle_rate", "reports",
        "rework_count", "failed_verification_3_count", "redo_count",
    }  # fmt: skip
    assert set(BY_KEY) == checked


# --- Exemptions (facts level) -------------------------------------------------------------------


def test_an_exempt_case_contributes_nothing(world):
    assert "exempt" in facts.CaseInfo.__dataclass_fields__, "CaseInfo has no exempt field yet"
    snap = {"stage": "", "level": "grid", "dept": None, "area": 7, "card": "none"}
    events = [
        facts.EventInfo("reported", at(3, 2, 9, 0), None, "", "reported", snapshot={}),
        facts.EventInfo(
            "handle_on_the_spot", at(3, 2, 9, 30), 5, "reported", "handled", snapshot=snap
        ),
    ]
    calendar = current_calendar()
    counted = facts.case_contributions(facts.CaseInfo("E0102", (7, 3, 1)), events, calendar)
    assert counted[("area:1", "E0102", "2026-03-02", "filed")] == 1
    exempt = facts.CaseInfo("E0102", (7, 3, 1), exempt=True)
    assert facts.case_contributions(exempt, events, calendar) == {}


def test_an_approved_exemption_takes_the_case_out_of_every_indicator(flow):
    from gridlink.assessment.adjustments import exemption_request, exemption_review

    late = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    late = flow.dispatch(late, at(3, 2, 9, 0), "CC")
    late = flow.do(late, "sign_for", at(3, 2, 9, 30), "h_CC")
    flow.sweep(at(3, 2, 15, 30))  # red at the top → supervised, stays red
    fine = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    fine = flow.dispatch(fine, at(3, 2, 9, 0), "CC")
    fine = flow.do(fine, "sign_for", at(3, 2, 9, 10), "h_CC")
    fine = flow.do(fine, "start_handling", at(3, 2, 9, 15), "h_CC")
    fine = flow.do(fine, "submit_result", at(3, 2, 9, 40), "h_CC")
    fine = flow.verify_and_close(fine, at(3, 2, 9, 50))
    assert nvd(DISTRICT, "reports", "2026-03")[2] == 2
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 2, 50.0)
    assert nvd(DISTRICT, "overdue_count", "2026-03")[2] == 1
    assert nvd("dept:CC", "on_time_handling_rate", "2026-03") == (1, 2, 50.0)

    asked = exemption_request(actor=flow.person("district_disp"), case_id=late.pk,
                              reason="不合理诉求")  # fmt: skip
    # Requested only: still counted.
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 2, 50.0)
    exemption_review(actor=flow.person("supervisor"), exemption_id=asked.pk, approve=True)
    march = values(DISTRICT, "2026-03")
    assert march["reports"].value == 1
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 1, 100.0)
    assert march["overdue_count"].value == 0
    assert nvd("dept:CC", "on_time_handling_rate", "2026-03") == (1, 1, 100.0)
    # Later steps of the exempt case count nowhere either.
    late = flow.do(late, "start_handling", at(3, 3, 9, 0), "h_CC")
    late = flow.do(late, "submit_result", at(3, 3, 9, 30), "h_CC")
    assert nvd("dept:CC", "handling_rate", "2026-03") == (1, 1, 100.0)
    call_command("assessment", "rebuild", verbosity=0, stdout=io.StringIO())
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:CC", "handling_rate", "2026-03") == (1, 1, 100.0)


# --- Definition problems: these state the correct behaviour and fail until fixed ---------------


def test_definition_a_person_has_a_handling_rate(flow):
    """facts.py `_step`: `handled`/`handled_on_time` are counted for `user:<actor>`, but
    `handle_due` only for the areas and the responsible unit — so every rate of a person is
    None (no denominator) and no indicator can judge a person (SPEC §4 evaluates posts and
    persons). A grid worker who handled one case on the spot, on time, should have a handling
    rate and an on-time handling rate of 100%."""
    case = flow.report(at(3, 2, 9, 0), by="grid1")
    case = flow.do(case, "handle_on_the_spot", at(3, 2, 9, 30), "grid1")
    assert nvd("user:grid1", "handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("user:grid1", "on_time_handling_rate", "2026-03") == (1, 1, 100.0)


def test_definition_a_co_department_that_reports_in_on_time_has_responded(flow, world):
    """facts.py `_step` ("whistle"): a whistle adds one `dispatched` per summoned department
    (to the areas and to each `dept:`), but `responded` is only ever counted on `sign_for`,
    which is the lead's. A co-handling department that reports in (`task_reported_in`, with
    `late: false`) within the limit never responds: its response rate is 0%, and the area's
    is at most 1/n for an n-department whistle. Reporting in on time is the co-department's
    response; both departments here responded on time."""
    d = world.departments
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    summoned = {"department_ids": [d["UM"].pk, d["HS"].pk], "lead_department_id": d["HS"].pk}
    case = flow.do(case, "whistle", at(3, 2, 9, 0), "district_disp", **summoned)
    case = flow.do(case, "sign_for", at(3, 2, 9, 20), "h_HS")
    task = CaseTask.objects.get(case=case, department=d["UM"])
    fresh = Case.objects.get(pk=case.pk)
    with time_machine.travel(at(3, 2, 9, 25), tick=False):
        task_report_in(actor=flow.person("h_UM"), task_id=task.pk, version=fresh.version,
                       now=at(3, 2, 9, 25))  # fmt: skip
    assert nvd("dept:UM", "response_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "response_rate", "2026-03") == (2, 2, 100.0)


def test_definition_a_rate_never_exceeds_100_percent_across_a_month_boundary(flow):
    """facts.py: `close_due` is counted on the day the case first goes red, `closed` on the
    day it closes; indicators.py divides the two sums of one period. A case red on 30 Sep and
    closed in October adds to October's numerator but September's denominator, so October's
    closing rate (with one more case closed on time in October) is 2/1 = 200%. A rate must
    stay within 0–100% (the numerator's cases must be among the denominator's)."""
    late = flow.filed(at(9, 30, 8, 40), at(9, 30, 8, 50), at(9, 30, 8, 55))
    late = flow.dispatch(late, at(9, 30, 9, 0), "CC")
    late = flow.do(late, "sign_for", at(9, 30, 9, 30), "h_CC")
    flow.sweep(at(9, 30, 16, 0))  # red (deadline 15:00) at the top → supervised
    late = flow.do(late, "start_handling", at(10, 8, 9, 0), "h_CC")
    late = flow.do(late, "submit_result", at(10, 8, 9, 30), "h_CC")
    late = flow.verify_and_close(late, at(10, 8, 10, 0))
    fine = flow.filed(at(10, 9, 8, 40), at(10, 9, 8, 50), at(10, 9, 8, 55))
    fine = flow.dispatch(fine, at(10, 9, 9, 0), "CC")
    fine = flow.do(fine, "sign_for", at(10, 9, 9, 10), "h_CC")
    fine = flow.do(fine, "start_handling", at(10, 9, 9, 15), "h_CC")
    fine = flow.do(fine, "submit_result", at(10, 9, 10, 0), "h_CC")
    fine = flow.verify_and_close(fine, at(10, 9, 10, 10))

    # Cohorts: the late case came due in September and has been closed since, so September
    # reads 1/1 now (it read 0/1 until 8 October); October has only the on-time case.
    assert nvd(DISTRICT, "closing_rate", "2026-09") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-09") == (0, 1, 0.0)
    assert nvd(DISTRICT, "closing_rate", "2026-10") == (1, 1, 100.0)
    for key in ("closing_rate", "handling_rate"):
        num, den, value = nvd(DISTRICT, key, "2026-10")
        assert den is not None and 0 <= num <= den, (key, num, den)
        assert value is not None and value <= 100.0, (key, value)


def test_definition_a_rate_never_exceeds_100_percent_across_units(flow):
    """facts.py: after a red card `close_due` goes to the unit responsible at that moment
    (here dept:UM, before the sweep escalates), `closed` to the unit that closes it (dept:CC).
    With one more CC case closed on time, dept:CC's closing rate is 2/1 = 200%. A unit's
    closed cases must be among the cases due to close for that unit."""
    moved = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    moved = flow.dispatch(moved, at(3, 2, 9, 0), "UM")
    flow.sweep(at(3, 2, 10, 30))  # sign-for red → escalated to CC
    moved = flow.do(moved, "start_handling", at(3, 2, 10, 40), "h_CC")
    moved = flow.do(moved, "submit_result", at(3, 2, 11, 0), "h_CC")
    moved = flow.verify_and_close(moved, at(3, 2, 11, 10))
    own = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    own = flow.dispatch(own, at(3, 2, 9, 0), "CC")
    own = flow.do(own, "sign_for", at(3, 2, 9, 10), "h_CC")
    own = flow.do(own, "start_handling", at(3, 2, 9, 15), "h_CC")
    own = flow.do(own, "submit_result", at(3, 2, 9, 40), "h_CC")
    own = flow.verify_and_close(own, at(3, 2, 13, 40))

    num, den, value = nvd("dept:CC", "closing_rate", "2026-03")
    assert den is not None and num <= den, (num, den)
    assert value is not None and value <= 100.0


def test_definition_merged_after_filing_keeps_the_filing_rate_within_100(flow):
    """indicators.py `filing_rate` = filed / (reported − invalid − merged); facts.py counts
    `filed` for a case that is merged afterwards (merge is allowed from `filed`), while its
    `merged` takes it out of the denominator. Two reports, both filed, one then merged into
    the other: 2 / (2 − 1) = 200%. Either way of counting the duplicate gives 100%."""
    parent = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 10), at(3, 2, 9, 20))
    dup = flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 10), at(3, 2, 9, 20))
    flow.do(dup, "merge", at(3, 2, 9, 30), "district_disp", parent_case_id=parent.pk)
    assert nvd(DISTRICT, "filing_rate", "2026-03")[2] == 100.0


def test_definition_escalation_after_a_red_handle_card_is_one_case_due_for_the_area(flow):
    """facts.py `_step`: a red card in the handle stage counts `handle_due` (areas and the unit
    then responsible); the escalation that the sweep applies at the same moment resets
    `handle_due_counted`, so the next `submit_result` counts `handle_due` again for the areas.
    The district then has 1 handled of 2 due (50%) for one case that was due once and handled
    once. Per unit the figures are right (UM 0/1, CC 1/1); for the area where the case lies
    it should be due once: 1/1."""
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 30), "h_UM")
    result = flow.sweep(at(3, 2, 15, 30))  # handle deadline 15:00 → red → escalated to CC
    assert (result["red"], result["escalated"]) == (1, 1)
    case = flow.do(case, "start_handling", at(3, 2, 15, 40), "h_CC")
    case = flow.do(case, "submit_result", at(3, 2, 16, 0), "h_CC")
    assert nvd("dept:UM", "handling_rate", "2026-03") == (0, 1, 0.0)
    assert nvd("dept:CC", "handling_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(DISTRICT, "handling_rate", "2026-03") == (1, 1, 100.0)


def test_definition_mean_handle_hours_leave_out_the_suspension(flow):
    """facts.py `_step`: the handle time runs from `handle_started_at` (sign_for) to
    `submit_result` in working time, suspension included; `resume` does not touch it. A
    suspension stops the handle clock (docs/workflow.md "Deadlines"), so the time suspended is
    not handling time. Here: signed Mon 09:30, suspended Mon 10:30 – Wed 10:30 (15 working
    hours), handed in Wed 14:30: 18.5 working hours in all, 3.5 of them handling."""
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    case = flow.do(case, "sign_for", at(3, 2, 9, 30), "h_UM")
    case = flow.do(case, "request_suspension", at(3, 2, 10, 0), "h_UM")
    case = flow.do(case, "endorse_suspension", at(3, 2, 10, 15), "head_UM")  # two-step approval
    case = flow.do(case, "approve_suspension", at(3, 2, 10, 30), "district_disp")
    case = flow.do(case, "resume", at(3, 4, 10, 30), "district_disp")
    case = flow.do(case, "submit_result", at(3, 4, 14, 30), "h_UM")
    # 09:30–10:30 (60) + Wed 10:30–12:00 (90) + 13:30–14:30 (60) = 210 min.
    assert nvd(DISTRICT, "mean_handle_hours", "2026-03") == (210, 1, 3.5)


# --- Issue 9 §4: indicators that cannot exceed their definitions ---------------------------------


def _reachable_report(flow: Flow, when: dt.datetime) -> Case:
    """A resident report with a phone number: the reporter can be contacted."""
    report = Report(channel="resident_web", category_code=CATEGORY, description="垃圾堆放无人清理",
                    reporter_name="王女士", reporter_phone="13800138000", **A11)  # fmt: skip
    with time_machine.travel(when, tick=False):
        return case_create(actor=None, report=report, now=when).case


def _reachable_filed(flow: Flow) -> Case:
    case = _reachable_report(flow, at(3, 2, 8, 40))
    case = flow.do(case, "accept", at(3, 2, 8, 50), "district_disp")
    return flow.do(case, "file", at(3, 2, 8, 55), "district_disp")


def test_a_case_whistled_again_after_a_return_is_one_whistled_case(flow, world):
    d = world.departments
    summon = {"department_ids": [d["UM"].pk, d["HS"].pk], "lead_department_id": d["HS"].pk}
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    case = flow.do(case, "whistle", at(3, 2, 9, 0), "district_disp", **summon)
    case = flow.do(case, "return_not_our_duty", at(3, 2, 9, 20), "h_HS")
    case = flow.do(case, "whistle", at(3, 2, 9, 30), "district_disp", **summon)
    case = flow.do(case, "sign_for", at(3, 2, 9, 40), "h_HS")
    # One case at street level or above, whistled (twice): 1 of 1, never 2 of 1.
    assert nvd(DISTRICT, "whistle_rate", "2026-03") == (1, 1, 100.0)
    assert nvd(STREET_A, "whistle_rate", "2026-03-02") == (1, 1, 100.0)
    # Four departments summoned in two whistles; the first lead returned the case.
    assert nvd(DISTRICT, "dispatch_accuracy", "2026-03") == (3, 4, 75.0)


def test_a_case_suspended_after_its_red_card_leaves_the_closing_rates(flow):
    late = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    late = flow.dispatch(late, at(3, 2, 9, 0), "CC")
    late = flow.do(late, "sign_for", at(3, 2, 9, 30), "h_CC")
    flow.sweep(at(3, 2, 15, 30))  # red at the top of the ladder: stays red, due to close
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (0, 1, 0.0)
    late = flow.do(late, "request_suspension", at(3, 2, 15, 40), "h_CC")
    late = flow.do(late, "endorse_suspension", at(3, 2, 15, 45), "head_CC")  # two-step approval
    late = flow.do(late, "approve_suspension", at(3, 2, 15, 50), "district_disp")
    # closed / (due to close − suspended) = 0 / (1 − 1): nothing to judge.
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (0, 0, None)
    assert nvd(DISTRICT, "on_time_closing_rate", "2026-03") == (0, 0, None)
    assert nvd("dept:CC", "closing_rate", "2026-03") == (0, 0, None)
    fine = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    fine = flow.dispatch(fine, at(3, 2, 9, 0), "UM")
    fine = flow.do(fine, "sign_for", at(3, 2, 9, 10), "h_UM")
    fine = flow.do(fine, "start_handling", at(3, 2, 9, 15), "h_UM")
    fine = flow.do(fine, "submit_result", at(3, 2, 9, 40), "h_UM")
    fine = flow.verify_and_close(fine, at(3, 2, 9, 50))
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 1, 100.0)
    # Resumed: due to close again, still not closed.
    late = flow.do(late, "resume", at(3, 3, 9, 0), "district_disp")
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 2, 50.0)
    call_command("assessment", "rebuild", verbosity=0, stdout=io.StringIO())
    assert nvd(DISTRICT, "closing_rate", "2026-03") == (1, 2, 50.0)


def test_the_lead_reporting_in_and_signing_for_is_one_response(flow, world):
    d = world.departments
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    summon = {"department_ids": [d["UM"].pk, d["HS"].pk], "lead_department_id": d["HS"].pk}
    case = flow.do(case, "whistle", at(3, 2, 9, 0), "district_disp", **summon)
    for code, minute in (("HS", 10), ("UM", 15)):  # the lead reports in too, then signs for
        task = CaseTask.objects.get(case=case, department=d[code])
        fresh = Case.objects.get(pk=case.pk)
        task_report_in(actor=flow.person(f"h_{code}"), task_id=task.pk, version=fresh.version,
                       now=at(3, 2, 9, minute))  # fmt: skip
    case = flow.do(case, "sign_for", at(3, 2, 9, 20), "h_HS")
    # Two departments dispatched, two responses — not three (150 %).
    assert nvd(DISTRICT, "response_rate", "2026-03") == (2, 2, 100.0)
    assert nvd("dept:HS", "response_rate", "2026-03") == (1, 1, 100.0)
    assert nvd("dept:UM", "response_rate", "2026-03") == (1, 1, 100.0)


def test_a_late_report_in_is_no_response_of_that_department(flow, world):
    d = world.departments
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    summon = {"department_ids": [d["UM"].pk, d["HS"].pk], "lead_department_id": d["HS"].pk}
    case = flow.do(case, "whistle", at(3, 2, 9, 0), "district_disp", **summon)
    case = flow.do(case, "sign_for", at(3, 2, 9, 20), "h_HS")
    task = CaseTask.objects.get(case=case, department=d["UM"])
    fresh = Case.objects.get(pk=case.pk)
    task_report_in(actor=flow.person("h_UM"), task_id=task.pk, version=fresh.version,
                   now=at(3, 3, 9, 0))  # the next day: late  # fmt: skip
    assert nvd("dept:UM", "response_rate", "2026-03") == (0, 1, 0.0)
    assert nvd(DISTRICT, "response_rate", "2026-03") == (1, 2, 50.0)


def test_the_response_needs_the_reporter_contacted_within_the_limit(flow):
    # Three reachable reporters; each case is signed for on time.
    contacted = _reachable_filed(flow)
    contacted = flow.dispatch(contacted, at(3, 2, 9, 0), "UM")
    contacted = flow.do(contacted, "sign_for", at(3, 2, 9, 10), "h_UM")
    contacted = flow.do(contacted, "record_contact", at(3, 2, 9, 30), "h_UM", method="phone")
    by_hotline = _reachable_filed(flow)
    by_hotline = flow.dispatch(by_hotline, at(3, 2, 9, 0), "UM")
    by_hotline = flow.do(by_hotline, "sign_for", at(3, 2, 9, 10), "h_UM")
    # 09:00 → 10:55 = 115 working minutes, within the default 120.
    by_hotline = flow.do(by_hotline, "record_contact", at(3, 2, 10, 55), "hotline")
    late = _reachable_filed(flow)
    late = flow.dispatch(late, at(3, 2, 9, 0), "UM")
    late = flow.do(late, "sign_for", at(3, 2, 9, 10), "h_UM")
    late = flow.do(late, "record_contact", at(3, 2, 14, 0), "h_UM")  # 210 working minutes
    never = _reachable_filed(flow)
    never = flow.dispatch(never, at(3, 2, 9, 0), "UM")
    never = flow.do(never, "sign_for", at(3, 2, 9, 10), "h_UM")
    # An anonymous report without contact details: signing for on time is the response.
    anonymous = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    anonymous = flow.dispatch(anonymous, at(3, 2, 9, 0), "UM")
    anonymous = flow.do(anonymous, "sign_for", at(3, 2, 9, 10), "h_UM")

    assert nvd("dept:UM", "response_rate", "2026-03") == (3, 5, 60.0)
    assert nvd(DISTRICT, "response_rate", "2026-03") == (3, 5, 60.0)
    event = contacted.events.filter(kind="record_contact").get()
    assert event.created_at == at(3, 2, 9, 30)
    assert event.data["method"] == "phone"
    assert contacted.state == "signed"  # the step leaves the state as it is


def test_record_contact_refuses_an_unknown_method_and_writes_nothing(flow):
    from gridlink.core.errors import DomainError

    case = _reachable_filed(flow)
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    events = case.events.count()
    with pytest.raises(DomainError) as refused:
        flow.do(case, "record_contact", at(3, 2, 9, 10), "h_UM", method="pigeon")
    assert refused.value.field == "method"
    assert Case.objects.get(pk=case.pk).version == case.version
    assert case.events.count() == events


def test_the_staff_case_page_offers_record_contact(flow, client):
    case = _reachable_filed(flow)
    case = flow.dispatch(case, at(3, 2, 9, 0), "UM")
    client.force_login(flow.person("h_UM"))
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert b'data-action="record_contact"' in page.content
    done = client.post(f"/cases/{case.pk}/act/record_contact/", {"version": case.version})
    assert done.status_code == 302, done.content[:500]
    assert case.events.filter(kind="record_contact").count() == 1
    api = client.get(f"/api/v1/cases/{case.pk}")
    assert "record_contact" in api.json()["allowed_actions"]
    assert api.json()["state"] == "dispatched"
    body = {"version": api.json()["version"], "method": "visit", "note": "上门了解情况"}
    posted = client.post(f"/api/v1/cases/{case.pk}/actions/record_contact", body,
                         content_type="application/json")  # fmt: skip
    assert posted.status_code == 200, posted.content[:500]
    latest = case.events.filter(kind="record_contact").latest("id")
    assert (latest.data["method"], latest.data["note"]) == ("visit", "上门了解情况")
    bad = client.post(f"/api/v1/cases/{case.pk}/actions/record_contact",
                      {"version": posted.json()["version"], "method": "pigeon"},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "method"


def test_the_on_time_filing_limit_is_rule_data(flow):
    from gridlink.assessment.models import IndicatorRules
    from gridlink.assessment.rules import rules_add
    from gridlink.core.errors import DomainError, NotPermitted

    supervisor = flow.person("supervisor")
    with pytest.raises(DomainError) as past:
        rules_add(actor=supervisor, effective_from=dt.date(2026, 3, 2), filing_limit_minutes=30,
                  contact_limit_minutes=60, now=at(3, 2, 8, 0))  # fmt: skip
    assert past.value.field == "effective_from"
    with pytest.raises(DomainError) as zero:
        rules_add(actor=supervisor, effective_from=dt.date(2026, 3, 3), filing_limit_minutes=0,
                  contact_limit_minutes=60, now=at(3, 2, 8, 0))  # fmt: skip
    assert zero.value.field == "filing_limit_minutes"
    with pytest.raises(NotPermitted):
        rules_add(actor=flow.person("h_UM"), effective_from=dt.date(2026, 3, 3),
                  filing_limit_minutes=30, contact_limit_minutes=60,
                  now=at(3, 2, 8, 0))  # fmt: skip
    assert not IndicatorRules.objects.exists()
    rules_add(actor=supervisor, effective_from=dt.date(2026, 3, 3), filing_limit_minutes=30,
              contact_limit_minutes=60, now=at(3, 2, 8, 0))  # fmt: skip

    # Filed 60 working minutes after the report: on time on Monday (120), late on Tuesday (30).
    flow.filed(at(3, 2, 9, 0), at(3, 2, 9, 30), at(3, 2, 10, 0))
    flow.filed(at(3, 3, 9, 0), at(3, 3, 9, 30), at(3, 3, 10, 0))
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-03-02") == (1, 1, 100.0)
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-03-03") == (0, 1, 0.0)
    call_command("assessment", "rebuild", verbosity=0, stdout=io.StringIO())
    assert nvd(DISTRICT, "on_time_filing_rate", "2026-03") == (1, 2, 50.0)


def test_every_event_is_dated_by_the_service_clock_and_never_before_an_earlier_one(flow, world):
    d = world.departments
    case = flow.filed(at(3, 2, 8, 40), at(3, 2, 8, 50), at(3, 2, 8, 55))
    summon = {"department_ids": [d["UM"].pk, d["HS"].pk], "lead_department_id": d["HS"].pk}
    case = flow.do(case, "whistle", at(3, 2, 9, 0), "district_disp", **summon)
    task = CaseTask.objects.get(case=case, department=d["UM"])
    fresh = Case.objects.get(pk=case.pk)
    # No time travel here: the event must carry the `now` the service was given.
    task_report_in(actor=flow.person("h_UM"), task_id=task.pk, version=fresh.version,
                   now=at(3, 2, 9, 5))  # fmt: skip
    assert case.events.latest("id").created_at == at(3, 2, 9, 5)
    # A step given a clock behind the case's latest event is dated at that event, not before.
    case = flow.do(case, "sign_for", at(3, 2, 8, 0), "h_HS")
    times = list(case.events.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times)
    assert times[-1] == at(3, 2, 9, 5)
