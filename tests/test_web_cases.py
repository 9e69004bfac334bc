"""The case pages through the Django test client: reporting, tracking and rating, the staff
work list, the case page and its action forms, the console, patrol and inbox pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridlink.cases.models import Case, CasePhoto, CaseTask
from gridlink.cases.services.transitions import case_allowed_actions
from tests.cases_support import A11, CATEGORY, build_world, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def english(user: Any = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def photo(name: str = "p.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), "image/png")


def report_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category_code": CATEGORY,
        "description": "小区门口垃圾堆放三天无人清理，气味很大",
        "lat": A11["lat"],
        "lon": A11["lon"],
        "reporter_phone": "13800138000",
    }
    data.update(overrides)
    return data


def file_report(client: Client | None = None, **overrides: Any) -> Case:
    client = client or english()
    response = client.post("/report/", report_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/report/done/"
    return Case.objects.order_by("-id").first()  # type: ignore[return-value]


def buttons(response: Any) -> set[str]:
    return set(
        re.findall(r'class="action-form" data-action="([a-z_]+)"', response.content.decode())
    )


def act(client: Client, case: Case, action: str, **data: Any) -> Any:
    case.refresh_from_db()
    return client.post(f"/cases/{case.pk}/act/{action}/", {"version": case.version, **data})


def acted(client: Client, case: Case, action: str, **data: Any) -> Case:
    response = act(client, case, action, **data)
    assert response.status_code == 302, (action, response.content.decode()[:4000])
    case.refresh_from_db()
    return case


# --- Reporting ---------------------------------------------------------------------------------


def test_anonymous_resident_reports_with_a_photo(world):
    client = english()
    page = client.get("/report/")
    assert page.status_code == 200
    assert 'name="category_code"' in page.content.decode()
    assert "data-pin-kx" in page.content.decode()  # the map to pin on
    response = client.post("/report/", report_data(photos=[photo(), photo("q.png")]))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.state == "reported" and case.channel == "resident_web"
    assert case.reporter is None and case.grid == world.tree.grids[0]
    assert CasePhoto.objects.filter(case=case, stage="report").count() == 2
    done = client.get("/report/done/")
    assert done.status_code == 200
    body = done.content.decode()
    assert case.tracking_code in body
    assert f"/track/{case.tracking_code}/" in body


def test_duplicates_are_not_shown_to_the_reporter(world):
    file_report()
    client = english()
    file_report(client)
    body = client.get("/report/done/").content.decode()
    first = Case.objects.order_by("id").first()
    assert first is not None and first.tracking_code not in body


def test_signed_in_resident_reports_as_themselves(world):
    resident = world.personas.resident
    case = file_report(english(resident), reporter_phone="")
    assert case.reporter == resident


def test_category_search_and_choice_through_htmx(world):
    client = english()
    found = client.get("/report/categories/", {"category_q": "垃圾"}, HTTP_HX_REQUEST="true")
    assert found.status_code == 200
    assert f'data-code="{CATEGORY}"' in found.content.decode()
    nothing = client.get("/report/categories/", {"category_q": "zzzzqqq"})
    assert "data-code" not in nothing.content.decode()
    chosen = client.get(f"/report/categories/{CATEGORY}/", HTTP_HX_REQUEST="true")
    assert f'name="category_code" value="{CATEGORY}"' in chosen.content.decode()
    assert 'hx-swap-oob="true"' in chosen.content.decode()  # clears the result list
    assert client.get("/report/categories/ZZ999/").status_code == 404


def test_category_attributes_become_fields(world):
    from gridlink.cases.models import CategoryAttribute

    # C0101 (water supply manhole cover) asks for cover_type, damage and found_at.
    codes = set(
        CategoryAttribute.objects.filter(category__code="C0101").values_list("code", flat=True)
    )
    assert codes == {"cover_type", "damage", "found_at"}
    page = english().get("/report/", {"category": "C0101"}).content.decode()
    for code in codes:
        assert f'name="attr_{code}"' in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category_code": "E9999"}, "category_code"),
        ({"description": ""}, "description"),
        ({"lat": 10.0, "lon": 10.0}, "lat"),
        ({"lat": "", "lon": "", "address": ""}, "lat"),
        ({"reporter_phone": ""}, "reporter_phone"),
    ],
)
def test_bad_report_input_is_shown_on_the_form(world, overrides, field):
    response = english().post("/report/", report_data(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert 'class="errorlist' in response.content.decode()
    assert not Case.objects.exists()


def test_anonymous_box_replaces_contact_details(world):
    case = file_report(reporter_phone="", anonymous="on")
    assert case.anonymous


def test_rate_limit_answers_429(world, settings):
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 1
    client = english()
    file_report(client)
    response = client.post("/report/", report_data(description="另一个问题：路灯不亮"))
    assert response.status_code == 429
    assert response.context["form"].non_field_errors()


# --- Tracking ----------------------------------------------------------------------------------


def test_tracking_form_and_page(world):
    case = file_report()
    client = english()
    assert client.get("/track/").status_code == 200
    wrong = client.get("/track/", {"code": "NOSUCHCODE"})
    assert wrong.status_code == 200 and "code" in wrong.context["form"].errors
    go = client.get("/track/", {"code": case.tracking_code.lower()})
    assert go.status_code == 302 and go["Location"] == f"/track/{case.tracking_code}/"
    page = client.get(f"/track/{case.tracking_code}/")
    assert page.status_code == 200
    assert page.context["rate_form"] is None  # not closed yet
    assert client.get("/track/NOSUCHCODE/").status_code == 404
    assert (
        client.post(f"/track/{case.tracking_code}/", {"satisfaction": "satisfied"}).status_code
        == 409
    )


# --- Who sees which page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("/cases/", ["district_disp", "h_UM", "grid_worker", "supervisor"], ["resident"]),
        ("/cases/board/", ["district_disp", "dispatcher", "supervisor"], ["grid_worker", "h_UM"]),
        ("/cases/patrol/", ["grid_worker", "grid1b"], ["district_disp", "h_UM", "resident"]),
        ("/cases/inbox/", ["h_UM", "head_HS"], ["district_disp", "grid_worker", "resident"]),
    ],
)
def test_staff_pages_per_role(world, url, allowed, refused):
    assert Client().get(url).status_code == 302  # to the sign-in page
    for name in allowed:
        user = world.people.get(name) or getattr(world.personas, name)
        assert english(user).get(url).status_code == 200, name
    for name in refused:
        user = world.people.get(name) or getattr(world.personas, name)
        assert english(user).get(url).status_code == 403, name


def test_case_page_is_404_out_of_scope(world):
    case = file_report()
    assert english(world.personas.dispatcher).get(f"/cases/{case.pk}/").status_code == 200
    # The department of street B and the grid worker of another grid do not see it.
    assert english(world.personas.dept_handler).get(f"/cases/{case.pk}/").status_code == 404
    other = world.people["grid1b"]
    other_case = file_report(lat=35.95, lon=120.05)  # grid A2-1
    assert english(other).get(f"/cases/{other_case.pk}/").status_code == 404
    assert english(world.people["h_UM"]).get(f"/cases/{case.pk}/").status_code == 404
    assert english(world.personas.resident).get(f"/cases/{case.pk}/").status_code == 403


def test_buttons_are_the_allowed_actions(world):
    case = file_report()
    for name in ("district_disp", "dispatcher", "grid_worker", "supervisor", "comm_staff"):
        user = world.people.get(name) or getattr(world.personas, name)
        response = english(user).get(f"/cases/{case.pk}/")
        assert response.status_code == 200
        assert buttons(response) == set(case_allowed_actions(user, case)), name
    assert buttons(english(world.people["district_disp"]).get(f"/cases/{case.pk}/")) >= {
        "accept",
        "invalidate",
    }


def test_my_queue_lists_what_the_user_can_act_on(world):
    case = file_report()
    link = f'href="/cases/{case.pk}/"'  # staff see the case number, never the tracking code
    disp = english(world.people["district_disp"]).get("/cases/")
    assert link in disp.content.decode() and case.tracking_code not in disp.content.decode()
    supervisor = english(world.personas.supervisor).get("/cases/")
    assert link in supervisor.content.decode()  # may supervise it
    handler = english(world.people["h_UM"]).get("/cases/?tab=all")
    assert link not in handler.content.decode()
    filtered = english(world.people["district_disp"]).get("/cases/?tab=all&state=closed")
    assert link not in filtered.content.decode()
    text = english(world.people["district_disp"]).get(f"/cases/?tab=all&q=%23{case.pk}")
    assert link in text.content.decode()
    by_code = english(world.people["district_disp"]).get(f"/cases/?tab=all&q={case.tracking_code}")
    assert link not in by_code.content.decode()


def test_keyset_paging_of_the_work_list(world, settings):
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 100
    client = english()
    for n in range(27):
        file_report(client, description=f"路灯第{n}号不亮，晚上很黑，请尽快修理")
    disp = english(world.people["district_disp"])
    first = disp.get("/cases/?tab=all")
    assert len(first.context["rows"]) == 25
    after = first.context["next_after"]
    assert after
    second = disp.get(f"/cases/?tab=all&after={after}")
    assert len(second.context["rows"]) == 2
    assert second.context["next_after"] is None
    mine = disp.get("/cases/?tab=mine")
    assert len(mine.context["rows"]) == 25 and mine.context["next_after"]


# --- The loop through the web forms ------------------------------------------------------------


def test_full_loop_through_the_web_forms(world):
    reporter = english()
    case = file_report(reporter, photos=[photo()])
    done = reporter.get("/report/done/").content.decode()
    rating_key = done.split('id="rating-key">')[1].split("<")[0].strip()
    disp = english(world.people["district_disp"])
    page = disp.get(f"/cases/{case.pk}/")
    assert 'name="version" value="1"' in page.content.decode()
    case = acted(disp, case, "accept")
    case = acted(disp, case, "file")
    page = disp.get(f"/cases/{case.pk}/")
    assert "dispatch" in buttons(page) and "whistle" in buttons(page)
    assert 'value="auto"' in page.content.decode()
    assert "routing-suggestion" in page.content.decode()
    um = world.departments["UM"]
    case = acted(disp, case, "dispatch", unit_id=f"department:{um.pk}")
    assert case.state == "dispatched" and case.unit_department == um

    handler = english(world.people["h_UM"])
    inbox = handler.get("/cases/inbox/")
    assert f"#{case.pk}" in inbox.content.decode()
    assert case.tracking_code not in inbox.content.decode()
    assert buttons(handler.get(f"/cases/{case.pk}/")) == {
        "sign_for",
        "return_not_our_duty",
        "record_contact",
    }
    case = acted(handler, case, "sign_for")
    case = acted(handler, case, "record_contact")  # the reporter was called: the state stays
    assert case.state == "signed"
    case = acted(handler, case, "start_handling")
    missing = act(handler, case, "submit_result", result="已清理")
    assert missing.status_code == 200
    assert any("evidence" in p.form.errors for p in missing.context["panels"])
    case = acted(handler, case, "submit_result", result="已清理", evidence=[photo()])
    assert case.state == "handled"
    assert CasePhoto.objects.filter(case=case, stage="result").count() == 1

    page = disp.get(f"/cases/{case.pk}/")
    body = page.content.decode()
    verifier = world.personas.grid_worker
    assert f'<option value="{verifier.pk}">' in body
    assert f'<option value="{world.people["h_UM"].pk}">' not in body
    case = acted(disp, case, "send_for_verification", verifier_id=verifier.pk)
    patrol = english(verifier).get("/cases/patrol/")
    assert patrol.context["to_verify"] == [case]
    case = acted(english(verifier), case, "verify_pass")
    case = acted(disp, case, "close")
    assert case.state == "closed"

    track = reporter.get(f"/track/{case.tracking_code}/")
    assert track.context["rate_form"] is not None
    bad = reporter.post(f"/track/{case.tracking_code}/", {"satisfaction": "great"})
    assert bad.status_code == 200 and bad.context["rate_form"].errors
    rated = reporter.post(
        f"/track/{case.tracking_code}/",
        {"satisfaction": "satisfied", "solved": "yes", "rating_key": rating_key},
    )
    assert rated.status_code == 302
    case.refresh_from_db()
    assert case.state == "evaluated" and case.satisfaction == "satisfied" and case.solved is True
    timeline = reporter.get(f"/track/{case.tracking_code}/").content.decode()
    assert timeline.count('class="timeline-item') >= 8
    staff_timeline = disp.get(f"/cases/{case.pk}/").content.decode()
    assert "internal-badge" in staff_timeline  # send_for_verification is internal


def test_stale_version_reloads_with_a_message(world):
    case = file_report()
    disp = english(world.people["district_disp"])
    acted(disp, case, "accept")
    response = disp.post(f"/cases/{case.pk}/act/file/", {"version": 1})
    assert response.status_code == 409
    body = response.content.decode()
    assert "reloaded" in body
    assert 'name="version" value="2"' in body
    case.refresh_from_db()
    assert case.state == "accepted"


def test_refusals_and_field_errors_on_action_forms(world):
    case = file_report()
    disp = english(world.people["district_disp"])
    no_reason = act(disp, case, "invalidate")
    assert no_reason.status_code == 200
    assert any("reason" in p.form.errors for p in no_reason.context["panels"])
    worker = english(world.personas.grid_worker)
    refused = act(worker, case, "accept")
    assert refused.status_code == 403
    assert english(world.people["grid1b"]).post(f"/cases/{case.pk}/act/accept/").status_code == 200
    assert act(disp, case, "fly").status_code == 404


def test_merge_from_the_duplicate_panel(world):
    first = file_report()
    second = file_report(english())
    disp = english(world.people["district_disp"])
    page = disp.get(f"/cases/{second.pk}/")
    assert f'name="parent_case_id" value="{first.pk}"' in page.content.decode()
    second = acted(disp, second, "merge", parent_case_id=first.pk)
    assert second.state == "merged" and second.parent == first
    track = english().get(f"/track/{second.tracking_code}/")
    assert f"#{first.pk}" in track.content.decode()  # the parent's number, not its code
    assert first.tracking_code not in track.content.decode()


def test_whistle_and_joint_tasks(world):
    case = file_report()
    disp = english(world.people["district_disp"])
    acted(disp, case, "accept")
    acted(disp, case, "file")
    um, hs = world.departments["UM"], world.departments["HS"]
    case = acted(disp, case, "whistle", department_ids=[um.pk, hs.pk], lead_department_id=um.pk)
    assert case.whistled and CaseTask.objects.filter(case=case).count() == 2
    co = CaseTask.objects.get(case=case, department=hs)
    hs_client = english(world.people["h_HS"])
    assert f"#{co.case.pk}" in hs_client.get("/cases/inbox/").content.decode()
    page = hs_client.get(f"/cases/{case.pk}/")
    assert f"/cases/{case.pk}/tasks/{co.pk}/report_in/" in page.content.decode()
    case.refresh_from_db()
    response = hs_client.post(
        f"/cases/{case.pk}/tasks/{co.pk}/report_in/", {"version": case.version}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    response = hs_client.post(
        f"/cases/{case.pk}/tasks/{co.pk}/complete/", {"version": case.version, "result": "已协助"}
    )
    assert response.status_code == 302
    co.refresh_from_db()
    assert co.state == "done"
    page = disp.get(f"/cases/{case.pk}/")
    assert f"/cases/{case.pk}/tasks/{co.pk}/rate/" in page.content.decode()
    case.refresh_from_db()
    stale = hs_client.post(f"/cases/{case.pk}/tasks/{co.pk}/complete/", {"version": 1})
    assert stale.status_code == 409


# --- Grid worker and console -------------------------------------------------------------------


def test_patrol_report_filed_directly(world):
    worker = english(world.personas.grid_worker)
    page = worker.get("/cases/patrol/")
    assert 'name="lat"' in page.content.decode() and "data-pin-kx" in page.content.decode()
    response = worker.post("/cases/patrol/", report_data(reporter_phone=""))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.channel == "grid_patrol" and case.state == "filed"


def test_patrol_handled_on_the_spot_needs_a_photo(world):
    worker = english(world.personas.grid_worker)
    missing = worker.post("/cases/patrol/", report_data(on_the_spot="on"))
    assert missing.status_code == 200 and "evidence" in missing.context["form"].errors
    assert not Case.objects.exists()
    done = worker.post("/cases/patrol/", report_data(on_the_spot="on", evidence=[photo()]))
    assert done.status_code == 302
    case = Case.objects.get()
    assert case.state == "handled" and case.handled_by == world.personas.grid_worker


def test_console_sections(world):
    case = file_report()
    response = english(world.people["district_disp"]).get("/cases/board/")
    sections = {s["key"]: s for s in response.context["sections"]}
    assert [c.pk for c in sections["intake"]["rows"]] == [case.pk]
    Case.objects.filter(pk=case.pk).update(card="red")
    response = english(world.people["district_disp"]).get("/cases/board/")
    sections = {s["key"]: s for s in response.context["sections"]}
    assert sections["cards"]["count"] == 1
    assert "card-red" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/report/", None),
        ("/track/", None),
        ("/cases/", "district_disp"),
        ("/cases/board/", "district_disp"),
        ("/cases/patrol/", "grid_worker"),
        ("/cases/inbox/", "h_UM"),
        ("case", "district_disp"),
    ],
)
def test_case_pages_have_no_inline_script_or_style(world, url, who):
    if url == "case":
        url = f"/cases/{file_report().pk}/"
    user = None if who is None else (world.people.get(who) or getattr(world.personas, who))
    response = english(user).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "style=" not in page and "<style" not in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/static/' in tag
    assert re.search(r"\son[a-z]+=", page) is None


def test_pages_render_in_chinese_by_default(world):
    body = Client().get("/report/").content.decode()
    assert 'lang="zh-hans"' in body.lower()
