"""The indicators' rule numbers as data: reading the rule book and adding rules.

`rulebook()` is what the rollups pass to `facts.case_contributions`. `rules_add` adds the
rules in force from a later day (a supervisor or administrator; audited). A rule takes effect
only for days after it was added, so nothing already counted changes: a past bulletin keeps
its figures, and incremental rollups stay equal to a rebuild. docs/indicators.md, "Rules".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridlink.assessment.facts import SHANGHAI, RuleBook, Rules
from gridlink.assessment.models import IndicatorRules
from gridlink.assessment.permissions import may_manage_schemes
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

MAX_MINUTES = 60 * 24 * 30  # a month of minutes: a sanity bound, not a policy


def rulebook() -> RuleBook:
    """Every rule row, oldest first."""
    rows = IndicatorRules.objects.order_by("effective_from")
    return RuleBook(
        tuple(
            (r.effective_from, Rules(r.filing_limit_minutes, r.contact_limit_minutes)) for r in rows
        )
    )


def _minutes(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_MINUTES:
        raise DomainError(
            _("'%(field)s' is a whole number of working minutes from 1 to %(max)s.")
            % {"field": name, "max": MAX_MINUTES},
            field=name,
        )
    return value


@transaction.atomic
def rules_add(
    *,
    actor: AnyUser,
    effective_from: dt.date,
    filing_limit_minutes: int,
    contact_limit_minutes: int,
    note: str = "",
    now: dt.datetime | None = None,
) -> IndicatorRules:
    """Add the rules in force from `effective_from`, which must be after today (local)."""
    if not may_manage_schemes(actor):
        raise NotPermitted(_("Only a supervisor or administrator may change the rules."))
    today = (now or timezone.now()).astimezone(SHANGHAI).date()
    if not isinstance(effective_from, dt.date) or effective_from <= today:
        raise DomainError(
            _("Rules take effect from a later day than today (%(today)s).")
            % {"today": today.isoformat()},
            code="not_in_future",
            field="effective_from",
        )
    filing = _minutes(filing_limit_minutes, "filing_limit_minutes")
    contact = _minutes(contact_limit_minutes, "contact_limit_minutes")
    if IndicatorRules.objects.filter(effective_from=effective_from).exists():
        raise DomainError(
            _("Rules already take effect on that day."), code="duplicate", field="effective_from"
        )
    row = IndicatorRules.objects.create(
        effective_from=effective_from,
        filing_limit_minutes=filing,
        contact_limit_minutes=contact,
        note=note.strip()[:1000],
        created_by_id=getattr(actor, "pk", None),
    )
    audit_record(
        actor=actor,
        action="assessment.rules_added",
        target_type="indicator_rules",
        target_id=row.pk,
        data={
            "effective_from": effective_from.isoformat(),
            "filing_limit_minutes": filing,
            "contact_limit_minutes": contact,
        },
    )
    return row
