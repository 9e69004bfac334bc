"""Adjustments to a scorecard that people decide: bonuses (加分) and exemptions (免责).

Both follow four eyes: one person proposes with a reason, another reviews, and both steps go
to the audit log. An approved exemption takes the case out of every indicator in the review's
own transaction (`case_facts_refresh` retracts what it contributed to the rollups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.assessment.models import (
    Bonus,
    Exemption,
)
from gridlink.assessment.permissions import (
    may_manage_schemes,
    may_request_exemption,
    may_review_bonus,
    may_review_exemption,
)
from gridlink.assessment.selectors import Period, Unit
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from gridlink.accounts.models import User

# Supervision counts a deduction may use, and the key of `order_counts_for_unit` each reads.
from gridlink.assessment.schemes import Conflict, NotFound, _number, scheme_get

# --- bonuses ------------------------------------------------------------------------------


@transaction.atomic
def bonus_request(
    *, actor: User, code: str, unit: Unit, period: Period, points: float, reason: str
) -> Bonus:
    """Propose a bonus (加分) for one unit and period; it counts once someone else approves."""
    if not may_manage_schemes(actor):
        raise NotPermitted(_("Only supervisors and administrators propose bonuses."))
    scheme = scheme_get(code)
    value = _number(points, 100)
    if value is None or value <= 0:
        raise DomainError(_("A bonus is a number of points above 0 (at most 100)."), field="points")
    if not (reason or "").strip():
        raise DomainError(_("Give the reason for the bonus."), code="required", field="reason")
    bonus = Bonus.objects.create(
        scheme=scheme,
        unit=unit.key,
        period_start=period.start,
        period_end=period.end,
        points=value,
        reason=reason.strip(),
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="assessment.bonus_requested",
        target_type="bonus",
        target_id=bonus.pk,
        data={"scheme": code, "unit": unit.key, "points": str(value)},
    )
    return bonus


@transaction.atomic
def bonus_review(*, actor: User, bonus_id: int, approve: bool, note: str = "") -> Bonus:
    bonus = Bonus.objects.select_for_update().filter(pk=bonus_id).first()
    if bonus is None:
        raise NotFound(_("No such bonus."), code="not_found", field="bonus_id")
    if not may_review_bonus(actor, bonus):
        raise NotPermitted(_("A bonus is reviewed by a supervisor other than its proposer."))
    if bonus.approved is not None:
        raise Conflict(_("The bonus has been reviewed already."), code="reviewed", field="state")
    bonus.approved, bonus.reviewed_by, bonus.reviewed_at = approve, actor, timezone.now()
    bonus.review_note = note.strip()
    bonus.save()
    audit_record(
        actor=actor,
        action="assessment.bonus_reviewed",
        target_type="bonus",
        target_id=bonus.pk,
        data={"approved": approve, "note": bonus.review_note},
    )
    return bonus


# --- exemptions ---------------------------------------------------------------------------

MAX_REASON = 2000


@transaction.atomic
def exemption_request(*, actor: User, case_id: int, reason: str) -> Exemption:
    """Ask for a case to be taken out of the assessment (e.g. an unreasonable complaint)."""
    from gridlink.cases.models import Case
    from gridlink.cases.selectors import case_get_visible

    case = case_get_visible(actor, case_id)
    if case is None:
        raise NotFound(_("No such case."), code="not_found", field="case_id")
    if not may_request_exemption(actor, case):
        raise NotPermitted(
            _("Dispatchers and supervisors of the case's area ask for exemptions."),
            field="case_id",
        )
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise DomainError(
            _("Give the reason (at most %(n)s characters).") % {"n": MAX_REASON},
            code="required",
            field="reason",
        )
    Case.objects.select_for_update().filter(pk=case.pk).first()  # one request at a time
    if Exemption.objects.filter(Q(approved__isnull=True) | Q(approved=True), case=case).exists():
        raise Conflict(
            _("This case already has an exemption pending or approved."),
            code="exists",
            field="case_id",
        )
    exemption = Exemption.objects.create(case=case, reason=text, requested_by=actor)
    audit_record(
        actor=actor,
        action="assessment.exemption_requested",
        target_type="case",
        target_id=case.pk,
        data={"exemption": exemption.pk, "reason": text},
    )
    return exemption


@transaction.atomic
def exemption_review(*, actor: User, exemption_id: int, approve: bool, note: str = "") -> Exemption:
    """Approve or reject an exemption. Approved, the case leaves every indicator in this
    transaction (its rollup contributions are retracted); rejected, nothing changes."""
    from gridlink.assessment.rollups import case_facts_refresh
    from gridlink.cases.models import Case

    exemption = (
        Exemption.objects.select_for_update()
        .select_related("case__grid")
        .filter(pk=exemption_id)
        .first()
    )
    if exemption is None:
        raise NotFound(_("No such exemption."), code="not_found", field="exemption_id")
    if not may_review_exemption(actor, exemption):
        raise NotPermitted(
            _(
                "An exemption is reviewed by a supervisor of the case's area "
                "other than the person who asked for it."
            )
        )
    if exemption.approved is not None:
        raise Conflict(
            _("The exemption has been reviewed already."), code="reviewed", field="state"
        )
    if not approve and not (note or "").strip():
        raise DomainError(_("Say why the exemption is rejected."), code="required", field="note")
    exemption.approved, exemption.reviewed_by = approve, actor
    exemption.reviewed_at, exemption.review_note = timezone.now(), (note or "").strip()
    exemption.save()
    if approve:
        case = Case.objects.select_for_update().select_related("grid", "category")
        case_facts_refresh(case.get(pk=exemption.case_id))
    audit_record(
        actor=actor,
        action="assessment.exemption_reviewed",
        target_type="case",
        target_id=exemption.case_id,
        data={"exemption": exemption.pk, "approved": approve, "note": exemption.review_note},
    )
    return exemption
