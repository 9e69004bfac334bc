"""Supervision orders (督办) and their own timeline.

A supervisor opens an order on exactly one target — a case, a department or an area unit
(grid, community, street) — with instructions and a deadline in working days. The unit
responds; the supervisor accepts the response (closed) or rejects it (reopened, with a new
deadline). The sweep (`orders_sweep`) marks orders left without a response past their
deadline as overdue and escalates them. See docs/supervision.md.

Who is accountable for an order is fixed when it is opened (`accountable_department` or
`accountable_area`): the target unit itself, or the unit handling the case at that moment
(its grid if no unit has it yet). The assessment counts orders against that unit.

Orders are opened by a supervisor or automatically (`trigger`: dissatisfied twice, three
failed verifications, an overdue case); an escalation names the unit it went to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridlink.cases.workflow_table import Trigger

INSTRUCTIONS_MAX = 2000
RESPONSE_MAX = 2000
NOTE_MAX = 2000
DEADLINE_DAYS_MIN = 1
DEADLINE_DAYS_MAX = 30


class OrderState(models.TextChoices):
    OPEN = "open", _("Open")  # 待反馈
    RESPONDED = "responded", _("Responded")  # 已反馈
    CLOSED = "closed", _("Closed")  # 已办结
    REOPENED = "reopened", _("Reopened")  # 反馈被退回, 重新办理


# States in which the unit owes a response (and the deadline runs).
AWAITING_STATES = frozenset({OrderState.OPEN, OrderState.REOPENED})


class OrderLevel(models.TextChoices):
    NORMAL = "normal", _("Normal")  # 一般督办
    URGENT = "urgent", _("Urgent")  # 紧急督办


class TargetKind(models.TextChoices):
    CASE = "case", _("Case")
    DEPARTMENT = "department", _("Department")
    AREA = "area", _("Area unit")


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    RESPONDED = "responded", _("Responded")
    ACCEPTED = "accepted", _("Response accepted")
    REJECTED = "rejected", _("Response rejected")
    ESCALATED = "escalated", _("Escalated")


class OrderQuerySet(models.QuerySet["SupervisionOrder"]):
    def awaiting(self) -> OrderQuerySet:
        """Orders the unit still has to respond to."""
        return self.filter(state__in=AWAITING_STATES)

    def past_deadline(self, now: object) -> OrderQuerySet:
        return self.awaiting().filter(deadline_at__lt=now)


class SupervisionOrder(models.Model):
    """A supervision order (督办单) on a case or a unit."""

    code = models.CharField(_("number"), max_length=20, unique=True)  # 督办编号 DB-2026-000123
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_orders",
        verbose_name=_("case"),
    )
    department = models.ForeignKey(
        "geo.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_orders",
        verbose_name=_("department"),
    )
    area = models.ForeignKey(
        "geo.Area",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_orders",
        verbose_name=_("area unit"),
    )
    # The unit held to account, fixed at opening (exactly one of the two).
    accountable_department = models.ForeignKey(
        "geo.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accountable_area = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    instructions = models.TextField(_("instructions"), max_length=INSTRUCTIONS_MAX)
    level = models.CharField(
        _("level"), max_length=8, choices=OrderLevel.choices, default=OrderLevel.NORMAL
    )
    state = models.CharField(
        _("state"), max_length=10, choices=OrderState.choices, default=OrderState.OPEN
    )
    # Empty for an order opened automatically (the system: dissatisfied twice, three failed
    # verifications, an overdue case); `trigger` says why it was opened.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(
        _("trigger"), max_length=24, choices=Trigger.choices, default=Trigger.MANUAL
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    deadline_days = models.PositiveSmallIntegerField(_("deadline (working days)"))
    deadline_at = models.DateTimeField(_("deadline"), db_index=True)

    overdue = models.BooleanField(_("overdue"), default=False)  # went past a deadline unanswered
    escalated = models.BooleanField(_("escalated"), default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    # Where the latest escalation went: the next rung above the accountable unit (or above
    # the previous escalation), see `gridlink.supervision.policy.escalation_target`.
    escalated_to_department = models.ForeignKey(
        "geo.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_to_area = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    response = models.TextField(_("response"), max_length=RESPONSE_MAX, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Bumped by every change (respond, close, escalation): respond and close name the version
    # the caller saw (lost-update protection, like a case's version); the ETag carries it.
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "deadline_at"], name="supervision_due")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(case__isnull=False, department__isnull=True, area__isnull=True)
                    | Q(case__isnull=True, department__isnull=False, area__isnull=True)
                    | Q(case__isnull=True, department__isnull=True, area__isnull=False)
                ),
                name="supervision_one_target",
            ),
            models.CheckConstraint(
                condition=(
                    Q(accountable_department__isnull=False, accountable_area__isnull=True)
                    | Q(accountable_department__isnull=True, accountable_area__isnull=False)
                ),
                name="supervision_one_accountable_unit",
            ),
            models.CheckConstraint(
                condition=Q(deadline_days__gte=DEADLINE_DAYS_MIN)
                & Q(deadline_days__lte=DEADLINE_DAYS_MAX),
                name="supervision_deadline_days_range",
            ),
            models.CheckConstraint(
                condition=Q(state__in=OrderState.values), name="supervision_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def target_kind(self) -> TargetKind:
        if self.case_id is not None:
            return TargetKind.CASE
        if self.department_id is not None:
            return TargetKind.DEPARTMENT
        return TargetKind.AREA

    @property
    def target_id(self) -> int:
        return int(self.case_id or self.department_id or self.area_id or 0)

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'

    @property
    def is_awaiting(self) -> bool:
        return self.state in AWAITING_STATES


class SupervisionEvent(models.Model):
    """One entry of an order's timeline: append-only."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("supervision event")
        verbose_name_plural = _("supervision events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"
