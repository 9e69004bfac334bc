"""Assessment schemes, scorecards, exemptions and the bulletin command (docs/scoring.md).

A small world: the conftest district (streets A and B), cases driven through the real
workflow service in October 2026 — handled on the spot, verified, closed and rated — so the
rollups fill as they do in production. Expected scores are worked out in the comments.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import translation

from gridlink.assessment.adjustments import (
    bonus_request,
    bonus_review,
    exemption_request,
    exemption_review,
)
from gridlink.assessment.models import CaseFacts, Exemption, IndicatorDay, Scheme
from gridlink.assessment.rollups import rollups_rebuild
from gridlink.assessment.schemes import (
    HOTLINE_CODE,
    URBAN_CODE,
    ItemSpec,
    SchemeInvalid,
    scheme_create,
    scheme_hotline_three_rates,
    schemes_ensure_defaults,
)
from gridlink.assessment.scorecards import period_previous, scorecard_compute
from gridlink.assessment.selectors import period_parse, unit_parse, unit_rows
from gridlink.cases.models import Case, CasePhoto
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.core.models import AuditEvent
from tests.cases_support import A11, CATEGORY, build_world, post_json

SH = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 10, 12, 9, 0, tzinfo=SH)  # a working Monday after National Day
IN_STREET_B = {"lat": 35.85, "lon": 120.25}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree, personas):
    call_command("calendar", "seed", "--years", "2026", stdout=io.StringIO())
    return build_world(tree, personas)


def _photo() -> str:
    key = f"{CasePhoto.objects.count() + 1:032x}"
    CasePhoto.objects.create(key=key, file="case-photos/x.png", content_type="image/png",
                             width=1, height=1, size=1, sha256="0" * 64)  # fmt: skip
    return key


def closed_case(world, *, at=MONDAY, where=A11, satisfaction="satisfied", solved=True, fails=0):
    """A case handled on the spot, verified (after `fails` failed checks), closed and rated."""
    with time_machine.travel(at, tick=False):
        case = case_create(actor=None, now=at, report=Report(
            channel="resident_web", category_code=CATEGORY, description="垃圾堆放无人清理",
            anonymous=True, **where)).case  # fmt: skip

        def step(action: str, **inputs) -> None:
            case_transition(actor=None, case_id=case.pk, action=action, version=None,
                            inputs=inputs, system=True, now=at)  # fmt: skip

        verifier = world.personas.supervisor.pk
        step("handle_on_the_spot", evidence=[_photo()], result="done")
        step("send_for_verification", verifier_id=verifier)
        for _ in range(fails):
            step("verify_fail", reason="not clean")
            step("submit_result", evidence=[_photo()], result="again")
            step("send_for_verification", verifier_id=verifier)
        step("verify_pass")
        step("close")
        step("rate", satisfaction=satisfaction, solved=solved)
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def october(world):
    """Street A: two cases, one rated dissatisfied and one reworked once; street B: one
    satisfied case."""
    schemes_ensure_defaults()
    a1 = closed_case(world, satisfaction="dissatisfied", solved=False)
    a2 = closed_case(world, fails=1)
    b1 = closed_case(world, where=IN_STREET_B)
    return {"a1": a1, "a2": a2, "b1": b1}


OCTOBER = period_parse(period="2026-10")


def _row(card, street):
    return next(r for r in card.rows if r.unit.area == street)


def test_scorecard_of_the_urban_management_scheme(world, october):
    card = scorecard_compute(scheme=Scheme.objects.get(code=URBAN_CODE), period=OCTOBER)
    a, b = _row(card, world.tree.streets[0]), _row(card, world.tree.streets[1])
    # Street A: on-time closing 100% → 50, closing 100% → 20, satisfaction 1/2 → 30 × 0.5 =
    # 15; one rework −0.2 → 84.8 (良好). Street B: 50 + 20 + 30 = 100 (优秀).
    assert [i.points for i in a.items] == [50.0, 20.0, 15.0]
    assert a.deducted == 0.2
    assert (a.composite, a.rank, a.grade, a.colour) == (84.8, 2, "良好", "blue")
    assert (b.composite, b.rank, b.grade, b.colour) == (100.0, 1, "优秀", "green")
    assert [r.unit.label for r in card.rows] == ["街道B", "街道A"]
    assert card.red_list == ["街道B", "街道A"] and card.black_list == []
    # September had no cases: no composite, so no change either.
    assert card.previous_period.label == "2026年9月"
    assert a.previous is None and a.change is None


def test_month_over_month_change(world, october):
    closed_case(world, at=MONDAY + dt.timedelta(days=28), satisfaction="dissatisfied")  # 9 Nov
    card = scorecard_compute(scheme=Scheme.objects.get(code=URBAN_CODE),
                             period=period_parse(period="2026-11"))  # fmt: skip
    a = _row(card, world.tree.streets[0])
    # November, street A: 50 + 20 + 0 = 70; October 84.8 → −14.8. Street B: no cases.
    assert (a.composite, a.previous, a.change) == (70.0, 84.8, -14.8)
    assert _row(card, world.tree.streets[1]).rank is None


def test_no_data_items_are_left_out_and_rescaled(world):
    schemes_ensure_defaults()
    with time_machine.travel(MONDAY, tick=False):
        case = case_create(actor=None, now=MONDAY, report=Report(
            channel="resident_web", category_code=CATEGORY, description="垃圾堆放无人清理",
            anonymous=True, **A11)).case  # fmt: skip
        for action, inputs in (("handle_on_the_spot", {"evidence": [_photo()], "result": "x"}),
                               ("send_for_verification",
                                {"verifier_id": world.personas.supervisor.pk}),
                               ("verify_pass", {}), ("close", {})):  # fmt: skip
            case_transition(actor=None, case_id=case.pk, action=action, version=None,
                            inputs=inputs, system=True, now=MONDAY)  # fmt: skip
    card = scorecard_compute(scheme=Scheme.objects.get(code=URBAN_CODE), period=OCTOBER)
    a = _row(card, world.tree.streets[0])
    # Not rated: satisfaction has no data, 70 of the 70 judged points → 100.
    assert a.items[2].points is None and a.composite == 100.0


def test_hotline_scheme_weights_are_configurable(world, october):
    scheme = scheme_hotline_three_rates(weights=(20, 40, 40), code="hotline-street",
                                        unit_level="street")  # fmt: skip
    assert [float(i.points) for i in scheme.items.all()] == [20.0, 40.0, 40.0]
    card = scorecard_compute(scheme=scheme, period=OCTOBER)
    a = _row(card, world.tree.streets[0])
    # No dispatches: the response rate has no data. Resolution 1/2 → 20, satisfaction 1/2 →
    # 20: 40 of 80 judged points → 50 (不合格).
    assert [i.points for i in a.items] == [None, 20.0, 20.0]
    assert (a.composite, a.grade) == (50.0, "不合格")
    assert card.black_list == ["街道A"]


def test_defaults_are_created_once(world):
    schemes_ensure_defaults()
    schemes_ensure_defaults()
    assert set(Scheme.objects.values_list("code", flat=True)) == {URBAN_CODE, HOTLINE_CODE}
    assert all(s.is_published for s in Scheme.objects.all())


def test_period_previous():
    assert period_previous(period_parse(period="2026-03")).start == dt.date(2026, 2, 1)
    q = period_previous(period_parse(period="2026-Q1"))
    assert (q.start, q.end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    r = period_previous(period_parse(start="2026-10-05", end="2026-10-11"))
    assert (r.start, r.end) == (dt.date(2026, 9, 28), dt.date(2026, 10, 4))


# --- validation ---------------------------------------------------------------------------


def _fields(exc: SchemeInvalid) -> list[str | None]:
    return [e["field"] for e in exc.errors]


def test_scheme_validation_names_every_field(world):
    sup = world.personas.supervisor
    with pytest.raises(SchemeInvalid) as exc:
        scheme_create(actor=sup, code="x", name_zh="考核", unit_level="street", items=[
            ItemSpec("closing_rate", 50, 120),  # a rate target above 100
            ItemSpec("no_such_indicator", 30, 10),
            ItemSpec("satisfaction_rate", -10, 90),  # a negative weight
        ])  # fmt: skip
    assert _fields(exc.value) == ["items[0].target", "items[1].indicator", "items[2].points"]
    with pytest.raises(SchemeInvalid) as exc:
        scheme_create(
            actor=sup,
            code="x",
            name_zh="考核",
            unit_level="street",
            items=[ItemSpec("closing_rate", 50, 90), ItemSpec("response_rate", 40, 90)],
        )
    assert _fields(exc.value) == ["items"]  # 90 ≠ 100
    assert "90" in exc.value.errors[0]["message"]
    assert not Scheme.objects.exists()


def test_scheme_create_refuses_other_roles(world):
    with pytest.raises(NotPermitted):
        scheme_create(actor=world.personas.grid_worker, code="x", name_zh="考核",
                      unit_level="street", items=[ItemSpec("closing_rate", 100, 90)])  # fmt: skip


# --- API ----------------------------------------------------------------------------------

GOOD = {
    "code": "street-close",
    "name_zh": "街道结案考核",
    "unit_level": "street",
    "items": [
        {"indicator": "on_time_closing_rate", "points": 60, "target": 70, "points_per_pp": 1},
        {"indicator": "satisfaction_rate", "points": 40, "target": 100, "rule": "linear"},
    ],
    "deductions": [{"metric": "rework", "points": 0.2}],
}


def _errors(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_api_scheme_create_and_bad_input(world):
    sup = world.client("supervisor")
    url = "/api/v1/assessment/schemes"
    bad_sum = {**GOOD, "items": [{**GOOD["items"][0], "points": 50}, GOOD["items"][1]]}
    r = post_json(sup, url, bad_sum)
    assert r.status_code == 400 and _errors(r) == ["items"]
    r = post_json(sup, url, {**GOOD, "items": [{**GOOD["items"][0], "target": 170},
                                               GOOD["items"][1]]})  # fmt: skip
    assert r.status_code == 400 and _errors(r) == ["items[0].target"]
    r = post_json(sup, url, {**GOOD, "items": [{**GOOD["items"][0], "indicator": "speed"},
                                               GOOD["items"][1]]})  # fmt: skip
    assert r.status_code == 400 and _errors(r) == ["items[0].indicator"]
    r = post_json(sup, url, {**GOOD, "unit_level": "planet"})
    assert r.status_code == 400 and _errors(r) == ["unit_level"]
    r = post_json(sup, url, {**GOOD, "items": "many"})
    assert r.status_code == 422
    assert post_json(world.client("resident"), url, GOOD).status_code == 403

    r = post_json(sup, url, GOOD)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["published_at"] is None and body["deductions"][0]["points"] == 0.2
    r = post_json(sup, url, GOOD)
    assert r.status_code == 400 and _errors(r) == ["code"]
    assert sup.get(f"{url}/street-close").json()["items"][1]["rule"] == "linear"
    assert sup.post(f"{url}/street-close/publish").json()["published_at"]
    assert sup.post(f"{url}/street-close/publish").status_code == 409
    assert sup.get(f"{url}/nope").status_code == 404
    assert [s["code"] for s in sup.get(url).json()] == ["street-close"]


def test_api_scorecards(world, october, django_assert_max_num_queries):
    sup = world.client("supervisor")
    with django_assert_max_num_queries(40):  # a few per unit, not per case
        r = sup.get("/api/v1/assessment/scorecards", {"scheme": URBAN_CODE, "period": "2026-10"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [(row["rank"], row["unit"]["name"], row["composite"]) for row in body["rows"]] == [
        (1, "街道B", 100.0),
        (2, "街道A", 84.8),
    ]
    assert body["rows"][1]["deductions"][0] == {"metric": "rework", "count": 1, "points": 0.2}
    query = {"scheme": URBAN_CODE, "period": "2026-10", "level": "grid"}
    grids = sup.get("/api/v1/assessment/scorecards", query).json()
    assert len(grids["rows"]) == 8


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"scheme": "nope", "period": "2026-10"}, 404, "scheme"),
        ({"scheme": URBAN_CODE, "period": "2026-13"}, 400, "period"),
        ({"scheme": URBAN_CODE, "start": "2026-10-31", "end": "2026-10-01"}, 400, "end"),
        ({"scheme": URBAN_CODE, "start": "2025-01-01", "end": "2026-10-01"}, 400, "end"),
        ({"scheme": URBAN_CODE, "period": "2026-10", "level": "planet"}, 400, "level"),
    ],
)
def test_api_scorecards_bad_input(world, october, query, status, field):
    r = world.client("supervisor").get("/api/v1/assessment/scorecards", query)
    assert r.status_code == status, r.content
    assert _errors(r) == [field]


def test_api_scorecards_are_for_oversight_roles(world, october):
    r = world.client("resident").get("/api/v1/assessment/scorecards",
                                     {"scheme": URBAN_CODE, "period": "2026-10"})  # fmt: skip
    assert r.status_code == 403


def test_api_bulletin_in_three_formats(world, october):
    sup = world.client("supervisor")
    query = {"scheme": URBAN_CODE, "period": "2026-10"}
    page = sup.get("/api/v1/assessment/bulletins", {**query, "format": "html"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "街道B" in page.content.decode() and "http://" not in page.content.decode()
    pdf = sup.get("/api/v1/assessment/bulletins", {**query, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf["Content-Disposition"]
    xlsx = sup.get("/api/v1/assessment/bulletins", {**query, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = sup.get("/api/v1/assessment/bulletins", {**query, "format": "doc"})
    assert bad.status_code == 400 and _errors(bad) == ["format"]
    denied = world.client("resident").get("/api/v1/assessment/bulletins", query)
    assert denied.status_code == 403


# --- exemptions and bonuses ---------------------------------------------------------------


def _area_sum(street, metric: str) -> int:
    rows = unit_rows(unit_parse(f"area:{street.code}"))
    return int(rows.aggregate(n=Sum(metric))["n"] or 0)


def test_approved_exemption_retracts_the_case(world, october):
    street = world.tree.streets[0]
    assert (_area_sum(street, "rated"), _area_sum(street, "closed")) == (2, 2)
    disp, sup = world.client("dispatcher"), world.client("supervisor")
    r = post_json(disp, "/api/v1/assessment/exemptions",
                  {"case_id": october["a1"].pk, "reason": "无理投诉：重复来电"})  # fmt: skip
    assert r.status_code == 201, r.content
    exemption_id = r.json()["id"]
    again = {"case_id": october["a1"].pk, "reason": "again"}
    assert post_json(disp, "/api/v1/assessment/exemptions", again).status_code == 409
    # The requester may not review their own request.
    assert post_json(disp, f"/api/v1/assessment/exemptions/{exemption_id}/review",
                     {"approve": True}).status_code == 403  # fmt: skip
    r = post_json(sup, f"/api/v1/assessment/exemptions/{exemption_id}/review", {"approve": True})
    assert r.status_code == 200 and r.json()["approved"] is True
    # The case is gone from every counter, in the review's own transaction.
    assert (_area_sum(street, "rated"), _area_sum(street, "closed")) == (1, 1)
    assert CaseFacts.objects.get(case=october["a1"]).contributions == []
    card = scorecard_compute(scheme=Scheme.objects.get(code=URBAN_CODE), period=OCTOBER)
    # Street A now: one satisfied case with one rework → 100 − 0.2.
    assert _row(card, street).composite == 99.8
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"assessment.exemption_requested", "assessment.exemption_reviewed"} <= actions
    # A rebuild from the case log agrees.
    order = ("unit", "category", "grid", "day")
    before = list(IndicatorDay.objects.order_by(*order).values())
    rollups_rebuild()
    after = list(IndicatorDay.objects.order_by(*order).values())
    assert [{k: v for k, v in r.items() if k != "id"} for r in before if any(
        v for k, v in r.items() if k not in ("id", "unit", "category", "grid_id", "day"))] == [
        {k: v for k, v in r.items() if k != "id"} for r in after]  # fmt: skip


def test_rejected_exemption_changes_nothing(world, october):
    street = world.tree.streets[0]
    e = exemption_request(actor=world.personas.supervisor, case_id=october["a1"].pk,
                          reason="不合理投诉")  # fmt: skip
    admin = world.personas.admin  # an administrator is no reviewer
    with pytest.raises(NotPermitted):
        exemption_review(actor=admin, exemption_id=e.pk, approve=True)
    with pytest.raises(NotPermitted):  # nor the supervisor who asked
        exemption_review(actor=world.personas.supervisor, exemption_id=e.pk, approve=True)
    world.people["sup2"] = _second_supervisor(world)
    with pytest.raises(DomainError) as exc:
        exemption_review(actor=world.people["sup2"], exemption_id=e.pk, approve=False)
    assert exc.value.field == "note"
    exemption_review(actor=world.people["sup2"], exemption_id=e.pk, approve=False,
                     note="投诉合理")  # fmt: skip
    assert Exemption.objects.get(pk=e.pk).approved is False
    assert _area_sum(street, "rated") == 2
    with pytest.raises(DomainError) as exc:
        exemption_review(actor=world.people["sup2"], exemption_id=e.pk, approve=True)
    assert exc.value.status == 409


def _second_supervisor(world):
    from gridlink.accounts.roles import Role
    from tests.factories import RoleAssignmentFactory, UserFactory

    user = UserFactory(username="sup2")
    RoleAssignmentFactory(user=user, role=Role.SUPERVISOR, area=world.tree.district)
    return user


def test_exemption_request_bad_input(world, october):
    with pytest.raises(DomainError) as exc:
        exemption_request(actor=world.personas.dispatcher, case_id=october["a1"].pk, reason=" ")
    assert exc.value.field == "reason"
    # Street A's dispatcher may not touch a case of street B: it is not found for them.
    with pytest.raises(DomainError) as exc:
        exemption_request(actor=world.personas.dispatcher, case_id=october["b1"].pk, reason="x")
    assert exc.value.status == 404


def test_bonus_counts_once_approved(world, october):
    street = world.tree.streets[0]
    unit = unit_parse(f"area:{street.code}")
    bonus = bonus_request(actor=world.personas.supervisor, code=URBAN_CODE, unit=unit,
                          period=OCTOBER, points=5, reason="市级表彰")  # fmt: skip
    scheme = Scheme.objects.get(code=URBAN_CODE)
    assert _row(scorecard_compute(scheme=scheme, period=OCTOBER), street).composite == 84.8
    with pytest.raises(NotPermitted):
        bonus_review(actor=world.personas.supervisor, bonus_id=bonus.pk, approve=True)
    bonus_review(actor=world.personas.admin, bonus_id=bonus.pk, approve=True)
    assert _row(scorecard_compute(scheme=scheme, period=OCTOBER), street).composite == 89.8


# --- the bulletin command -----------------------------------------------------------------


def test_bulletin_command_writes_three_files(world, october, tmp_path: Path):
    out = io.StringIO()
    call_command("bulletin", scheme=URBAN_CODE, period="2026-10", out=str(tmp_path), stdout=out)
    paths = [Path(line) for line in out.getvalue().split()]
    assert [p.suffix for p in paths] == [".html", ".pdf", ".xlsx"]
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    html = paths[0].read_text(encoding="utf-8")
    assert "街道B" in html and "84.80" in html
    assert paths[1].read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"scheme": "nope", "period": "2026-10"}, "scheme"),
        ({"scheme": URBAN_CODE, "period": "October"}, "period"),
        ({"scheme": URBAN_CODE, "period": "2026-10", "level": "planet"}, "--level"),
    ],
)
def test_bulletin_command_bad_input(world, tmp_path, options, says):
    with pytest.raises(CommandError) as exc:
        call_command("bulletin", out=str(tmp_path), stdout=io.StringIO(), **options)
    assert says in str(exc.value)
