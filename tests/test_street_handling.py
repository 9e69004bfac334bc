"""Street-level handling (issue 9 §2): a case routed to a street office, or to a street
station (a street's 城管中队), is signed for and handled there; department heads endorse
their handlers' extension and suspension requests before the dispatcher decides.

Expectations are written by hand: who may act on the case of each unit.
"""

from __future__ import annotations

from typing import Any

import pytest

from gridlink.accounts.roles import CAPABILITIES, Cap, Role
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.cases.services.intake import Report, case_create, photo_upload
from gridlink.cases.services.transitions import case_allowed_actions, case_transition
from gridlink.cases.workflow import Action, State
from gridlink.core.errors import DomainError, NotPermitted
from tests.cases_support import A11, CATEGORY
from tests.factories import DepartmentFactory, RoleAssignmentFactory, UserFactory

A = Action
S = State


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class World:
    def __init__(self, tree: Any) -> None:
        taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
        self.tree = tree
        street_a, street_b = tree.streets
        self.district_um = DepartmentFactory(code="UM", kind="urban_management", name_zh="区城管局")
        self.district_um.areas.add(tree.district)
        # 城管中队 of street A: a station of the district bureau serving only street A.
        self.station = DepartmentFactory(
            code="UM-A", kind="urban_management", name_zh="街道A城管中队", parent=self.district_um
        )
        self.station.areas.add(street_a)
        self.other = DepartmentFactory(code="HS", kind="housing", name_zh="区住建局")
        self.other.areas.add(tree.district)
        self.people: dict[str, Any] = {}
        for name, role, scope in (
            ("reporter_gw", Role.GRID_WORKER, {"area": tree.grids[0]}),
            ("dispatcher", Role.DISPATCHER, {"area": street_a}),
            ("street_a", Role.STREET_STAFF, {"area": street_a}),
            ("street_b", Role.STREET_STAFF, {"area": street_b}),
            ("community_a1", Role.COMMUNITY_STAFF, {"area": tree.communities[0]}),
            ("station_handler", Role.DEPT_HANDLER, {"department": self.station}),
            ("station_head", Role.DEPT_HEAD, {"department": self.station}),
            ("bureau_handler", Role.DEPT_HANDLER, {"department": self.district_um}),
            ("other_head", Role.DEPT_HEAD, {"department": self.other}),
        ):
            user = UserFactory(username=name)
            RoleAssignmentFactory(user=user, role=role, **scope)
            self.people[name] = user

    def __getitem__(self, name: str) -> Any:
        return self.people[name]

    def filed_case(self, category: str = CATEGORY) -> Case:
        created = case_create(
            actor=self["reporter_gw"],
            report=Report(
                channel="grid_patrol",
                category_code=category,
                description="街道主干道两侧垃圾堆放，需要街道统一清理",
                **A11,
            ),
        )
        case = created.case
        for action in (A.ACCEPT, A.FILE):
            case = case_transition(actor=None, case_id=case.pk, action=action, version=None,
                                   system=True)  # fmt: skip
        return case


@pytest.fixture
def w(tree) -> World:
    return World(tree)


def _do(actor: Any, case: Case, action: str, **inputs: Any) -> Case:
    return case_transition(actor=actor, case_id=case.pk, action=action, version=case.version,
                           inputs=inputs)  # fmt: skip


def _evidence(actor: Any) -> list[str]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.cases_support import png_bytes

    upload = SimpleUploadedFile("p.png", png_bytes(), "image/png")
    return [photo_upload(actor=actor, upload=upload).key]


def test_street_staff_is_a_role_with_registry_reading():
    assert Role.STREET_STAFF in CAPABILITIES
    assert Cap.REGISTRY_VIEW in CAPABILITIES[Role.STREET_STAFF]


@pytest.mark.django_db
def test_the_street_office_signs_for_and_handles_a_street_case(w):
    street_a = w.tree.streets[0]
    case = _do(w["dispatcher"], w.filed_case(), A.DISPATCH, unit_id=f"area:{street_a.pk}")
    assert (case.level, case.unit_area_id) == ("street", street_a.pk)

    # Only street A's office may sign for it: not street B's, not the community below.
    assert A.SIGN_FOR in case_allowed_actions(w["street_a"], case)
    for outsider in ("street_b", "community_a1", "station_handler"):
        assert A.SIGN_FOR not in case_allowed_actions(w[outsider], case), outsider
        with pytest.raises(NotPermitted):
            _do(w[outsider], case, A.SIGN_FOR)

    case = _do(w["street_a"], case, A.SIGN_FOR)
    case = _do(w["street_a"], case, A.START_HANDLING)
    case = _do(w["street_a"], case, A.REQUEST_EXTENSION, reason="等待环卫车辆", duration="2d")
    # An area office has no department head: the dispatcher approves at once.
    assert A.APPROVE_EXTENSION in case_allowed_actions(w["dispatcher"], case)
    case = _do(w["dispatcher"], case, A.APPROVE_EXTENSION)
    assert case.state == S.EXTENDED
    case = _do(w["street_a"], case, A.SUBMIT_RESULT, evidence=_evidence(w["street_a"]),
               result="已组织清运")  # fmt: skip
    assert case.state == S.HANDLED
    assert case.handled_by_id == w["street_a"].pk
    roles = list(CaseEvent.objects.filter(case=case, kind__in=[A.SIGN_FOR, A.SUBMIT_RESULT])
                 .values_list("actor_role", flat=True))  # fmt: skip
    assert roles == [Role.STREET_STAFF, Role.STREET_STAFF]


@pytest.mark.django_db
def test_the_street_office_returns_a_case_that_is_not_its_duty(w):
    case = _do(w["dispatcher"], w.filed_case(), A.DISPATCH, unit_id=f"area:{w.tree.streets[0].pk}")
    case = _do(w["street_a"], case, A.RETURN_NOT_OUR_DUTY, reason="属于区住建局职责")
    assert case.state == S.RETURNED and case.return_count == 1


@pytest.mark.django_db
def test_a_case_routed_to_the_street_station_is_signed_for_by_its_staff(w):
    """C0302 (垃圾箱) defaults to an urban-management department: the territorial fallback
    picks the street's 城管中队 (it serves street A, nearer than the district bureau)."""
    case = _do(w["dispatcher"], w.filed_case("C0302"), A.DISPATCH, unit_id="auto")
    assert case.unit_department_id == w.station.pk
    assert A.SIGN_FOR in case_allowed_actions(w["station_handler"], case)
    assert A.SIGN_FOR not in case_allowed_actions(w["bureau_handler"], case)
    with pytest.raises(NotPermitted):
        _do(w["bureau_handler"], case, A.SIGN_FOR)
    case = _do(w["station_handler"], case, A.SIGN_FOR)
    case = _do(w["station_handler"], case, A.START_HANDLING)
    case = _do(w["station_handler"], case, A.SUBMIT_RESULT,
               evidence=_evidence(w["station_handler"]), result="已清理")  # fmt: skip
    assert case.state == S.HANDLED


# --- Two-step approval ----------------------------------------------------------------------


def _station_case(w: World) -> Case:
    case = _do(w["dispatcher"], w.filed_case(), A.DISPATCH, unit_id=f"department:{w.station.pk}")
    case = _do(w["station_handler"], case, A.SIGN_FOR)
    return _do(w["station_handler"], case, A.START_HANDLING)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("request_action", "inputs", "endorse", "approve", "endorsed", "target"),
    [
        (A.REQUEST_EXTENSION, {"reason": "需协调物业", "duration": "2d"}, A.ENDORSE_EXTENSION,
         A.APPROVE_EXTENSION, S.EXTENSION_ENDORSED, S.EXTENDED),
        (A.REQUEST_SUSPENSION, {"reason": "等待管线改造"}, A.ENDORSE_SUSPENSION,
         A.APPROVE_SUSPENSION, S.SUSPENSION_ENDORSED, S.SUSPENDED),
    ],
)  # fmt: skip
def test_the_head_endorses_before_the_dispatcher_approves(
    w, request_action, inputs, endorse, approve, endorsed, target
):
    case = _do(w["station_handler"], _station_case(w), request_action, **inputs)
    dispatcher = w["dispatcher"]

    # The dispatcher is not offered the approval, and taking it is refused, nothing written.
    assert approve not in case_allowed_actions(dispatcher, case)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(DomainError) as refused:
        _do(dispatcher, case, approve)
    assert refused.value.code == "head_approval_required"
    assert CaseEvent.objects.filter(case=case).count() == events

    # Only the head of the case's own department endorses.
    for outsider in ("other_head", "station_handler", "dispatcher", "bureau_handler"):
        assert endorse not in case_allowed_actions(w[outsider], case), outsider
        with pytest.raises(NotPermitted):
            _do(w[outsider], case, endorse)
    assert endorse in case_allowed_actions(w["station_head"], case)
    case = _do(w["station_head"], case, endorse)
    assert case.state == endorsed
    event = CaseEvent.objects.filter(case=case).latest("id")
    assert (event.kind, event.actor_role, event.public) == (endorse, Role.DEPT_HEAD, False)

    assert approve in case_allowed_actions(dispatcher, case)
    assert approve not in case_allowed_actions(w["station_head"], case)
    case = _do(dispatcher, case, approve)
    assert case.state == target


@pytest.mark.django_db
def test_the_head_may_refuse_the_request(w):
    case = _do(w["station_handler"], _station_case(w), A.REQUEST_EXTENSION, reason="需协调",
               duration="2d")  # fmt: skip
    with pytest.raises(NotPermitted):
        _do(w["other_head"], case, A.DENY_EXTENSION, reason="不同意")
    case = _do(w["station_head"], case, A.DENY_EXTENSION, reason="本周内可完成")
    assert case.state == S.IN_PROGRESS and case.requested_extension == ""


@pytest.mark.django_db
def test_without_two_step_approval_the_dispatcher_decides_at_once(w, settings):
    settings.GRIDLINK_HEAD_APPROVAL = False
    case = _do(w["station_handler"], _station_case(w), A.REQUEST_SUSPENSION, reason="等待改造")
    assert A.APPROVE_SUSPENSION in case_allowed_actions(w["dispatcher"], case)
    case = _do(w["dispatcher"], case, A.APPROVE_SUSPENSION)
    assert case.state == S.SUSPENDED


@pytest.mark.django_db
def test_the_heads_inbox_lists_the_requests_waiting_for_them(w, client):
    case = _do(w["station_handler"], _station_case(w), A.REQUEST_EXTENSION, reason="需协调",
               duration="2d")  # fmt: skip
    client.force_login(w["station_head"])
    page = client.get("/cases/inbox/").content.decode()
    assert 'id="approvals-h"' in page
    section = page.split('id="approvals-h"', 1)[1].split("</section>", 1)[0]
    assert f"/cases/{case.pk}/" in section

    client.force_login(w["station_handler"])  # a handler has no approvals section
    assert 'id="approvals-h"' not in client.get("/cases/inbox/").content.decode()

    client.force_login(w["station_head"])
    _do(w["station_head"], case, A.ENDORSE_EXTENSION)
    page = client.get("/cases/inbox/").content.decode()
    section = page.split('id="approvals-h"', 1)[1].split("</section>", 1)[0]
    assert f"/cases/{case.pk}/" not in section
