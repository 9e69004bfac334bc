"""The rule numbers behind the counters, as data (`facts.Rules`): the on-time filing limit
and the reporter-contact limit, each row in force from its `effective_from` day.

A row is added (never edited) through `gridlink.assessment.rules.rules_add`, and only for a
day after today, so no event already counted changes meaning: the rollups never need a
rebuild for it, and incremental stays equal to a rebuild. Days before the first row use the
defaults of `facts.Rules`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IndicatorRules(models.Model):
    """Rule numbers of the indicators (指标口径), in force from `effective_from` (local day)."""

    effective_from = models.DateField(_("in force from"), unique=True)
    filing_limit_minutes = models.PositiveIntegerField(
        _("on-time filing limit (working minutes)"), default=120
    )
    contact_limit_minutes = models.PositiveIntegerField(
        _("reporter contact limit (working minutes)"), default=120
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("indicator rules")
        verbose_name_plural = _("indicator rules")
        ordering = ["effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(filing_limit_minutes__gt=0, contact_limit_minutes__gt=0),
                name="indicator_rules_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"rules from {self.effective_from}"
