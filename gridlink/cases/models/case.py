"""Cases (案卷) and everything that hangs off one: the timeline, joint-handling tasks, photos
and idempotency records.

The state machine is `gridlink.cases.workflow_table`; the only code that changes a case's
state is `gridlink.cases.services.case_transition` (and the intake, which creates it). A
case carries a `version` that every write bumps, so a stale writer is refused (SPEC §6).
Deadline bookkeeping (stage, start, allowance, extension, suspensions) lives on the case so
the deadline can always be recomputed from the calendar; see docs/workflow.md.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridlink.cases.models.taxonomy import Category, HandlingLevel, TaxonomyVersion, Urgency
from gridlink.cases.workflow_table import FINAL_STATES, State


class Channel(models.TextChoices):
    """Where a report came from (SPEC §3 intake channels)."""

    RESIDENT_WEB = "resident_web", _("Resident (web or app)")  # 居民随手拍
    GRID_PATROL = "grid_patrol", _("Grid-worker patrol")  # 网格员巡查
    HOTLINE = "hotline", _("12345 hotline")  # 12345 热线工单
    HIGHER_AUTHORITY = "higher_authority", _("Higher-authority assignment")  # 上级交办
    SENSOR = "sensor", _("Video or sensor alert")  # 视频/物联感知
    OPEN311 = "open311", _("Open311 client")
    MEDIA = "media", _("Media")  # 媒体曝光


class Card(models.TextChoices):
    NONE = "", _("None")
    YELLOW = "yellow", _("Yellow card")  # 黄牌
    RED = "red", _("Red card")  # 红牌


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")  # 满意
    BASICALLY = "basically_satisfied", _("Basically satisfied")  # 基本满意
    DISSATISFIED = "dissatisfied", _("Dissatisfied")  # 不满意


OPEN_STATES = frozenset(State) - FINAL_STATES
# The channels a member of the public reports through: only their cases carry a rating key.
PUBLIC_CHANNELS = frozenset({Channel.RESIDENT_WEB, Channel.OPEN311})


def rating_key_digest(key: str) -> str:
    """How a rating key is stored: its SHA-256 (the key has 80 random bits)."""
    return hashlib.sha256(key.strip().upper().encode()).hexdigest()


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.exclude(state__in=FINAL_STATES)

    def overdue(self) -> CaseQuerySet:
        return self.filter(card=Card.RED)


class Case(models.Model):
    """A case (案卷): one reported problem from intake to evaluation.

    Staff know a case by its number (`number`, the primary key). The tracking code (查询码)
    and the rating key (评价码) belong to the reporter: the code to follow the case, the key
    to rate it. Neither is shown to staff; the key is kept only as a hash.
    """

    tracking_code = models.CharField(_("tracking code"), max_length=16, unique=True)
    rating_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    external_number = models.CharField(
        _("external order number"), max_length=64, blank=True
    )  # 12345 工单号 / 上级交办文号 / 设备告警号
    taxonomy_version = models.ForeignKey(
        TaxonomyVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("taxonomy")
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("category")
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=4000)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)

    # Where: the grid is found from the point (or the building's point).
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    building = models.ForeignKey(
        "registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    grid = models.ForeignKey(
        "geo.Area", on_delete=models.PROTECT, related_name="cases", verbose_name=_("grid")
    )

    # Who reported it. Anonymous reports keep contact details only if given.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(_("reporter name"), max_length=50, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=20, blank=True)
    reporter_email = models.EmailField(_("reporter e-mail"), blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    # A keyed hash of the reporting client (account or IP address) for intake rate limits.
    intake_client = models.CharField(max_length=32, blank=True, db_index=True, editable=False)

    # The workflow.
    state = models.CharField(_("state"), max_length=24, choices=State.choices)
    version = models.PositiveIntegerField(_("version"), default=1)
    supervised = models.BooleanField(_("supervised"), default=False)  # 督办
    card = models.CharField(_("card"), max_length=8, choices=Card.choices, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
        verbose_name=_("merged into"),
    )

    # The ladder: current handling level and the one accountable unit (属地管理).
    level = models.CharField(
        _("handling level"), max_length=24, choices=HandlingLevel.choices, blank=True
    )
    unit_department = models.ForeignKey(
        "geo.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    unit_area = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="unit_cases"
    )
    routing_rule = models.ForeignKey(
        "cases.RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    routing_reason = models.TextField(_("routing reason"), blank=True)
    whistled = models.BooleanField(_("joint handling"), default=False)  # 吹哨
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Deadlines (recomputable from these fields and the working calendar).
    stage = models.CharField(_("deadline stage"), max_length=10, blank=True)
    stage_started_at = models.DateTimeField(null=True, blank=True)
    stage_amount = models.PositiveSmallIntegerField(null=True, blank=True)
    stage_unit = models.CharField(max_length=16, blank=True)
    extension_amount = models.PositiveSmallIntegerField(default=0)
    extension_unit = models.CharField(max_length=16, blank=True)
    extension_count = models.PositiveSmallIntegerField(default=0)
    requested_extension = models.CharField(max_length=8, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspensions = models.JSONField(default=list, blank=True)  # [[from, to], …] this stage
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    yellow_at = models.DateTimeField(null=True, blank=True)

    # Counters the rules and the assessment need.
    return_count = models.PositiveSmallIntegerField(default=0)
    verify_fail_count = models.PositiveSmallIntegerField(default=0)
    dissatisfied_count = models.PositiveSmallIntegerField(default=0)
    escalation_count = models.PositiveSmallIntegerField(default=0)

    # Feedback (评价) and the hotline callback (回访).
    satisfaction = models.CharField(max_length=24, choices=Satisfaction.choices, blank=True)
    solved = models.BooleanField(null=True, blank=True)
    callback_due_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(_("reported at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    filed_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "-id"], name="case_state_id"),
            models.Index(fields=["lat", "lon"], name="case_point"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lat__gte=-90, lat__lte=90, lon__gte=-180, lon__lte=180),
                name="case_point_on_earth",
            ),
            models.CheckConstraint(
                condition=~(Q(unit_department__isnull=False) & Q(unit_area__isnull=False)),
                name="case_one_unit",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="case_version_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def number(self) -> str:
        """The case number staff work with (案卷编号); never the reporter's tracking code."""
        return str(self.pk or "")

    def rating_key_matches(self, key: str) -> bool:
        """Whether `key` is this case's rating key (compared in constant time)."""
        if not self.rating_key_hash or not key:
            return False
        return hmac.compare_digest(self.rating_key_hash, rating_key_digest(key))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.version}"'

    @property
    def unit_name(self) -> str:
        if self.unit_department_id is not None:
            return str(self.unit_department.name_zh) if self.unit_department else ""
        if self.unit_area_id is not None:
            return str(self.unit_area.name_zh) if self.unit_area else ""
        return ""


class CaseEvent(models.Model):
    """One entry of a case's timeline: append-only (SPEC §3 "Timeline")."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=40)  # an Action value or a system event
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_role = models.CharField(_("role"), max_length=24, blank=True)
    actor_unit = models.CharField(_("unit"), max_length=100, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(_("public"), default=True)
    # The case after the change: stage, deadline, level, unit, handler — so the timeline
    # alone reproduces every indicator (gridlink.assessment.facts).
    snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class TaskState(models.TextChoices):
    SUMMONED = "summoned", _("Summoned")  # 已吹哨
    REPORTED_IN = "reported_in", _("Reported in")  # 已报到
    DONE = "done", _("Done")  # 已完成


class CaseTask(models.Model):
    """One department's task in joint handling (吹哨报到): lead (主办) or co-handler (协办)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    department = models.ForeignKey("geo.Department", on_delete=models.PROTECT, related_name="+")
    is_lead = models.BooleanField(_("lead"), default=False)
    state = models.CharField(max_length=12, choices=TaskState.choices, default=TaskState.SUMMONED)
    instructions = models.TextField(_("task"), blank=True)
    report_in_due_at = models.DateTimeField(_("report in by"))
    reported_in_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(_("deadline"))
    # The task's own allowance from the whistle, set by the dispatcher (working days or
    # hours; suspensions of the case add to it); none: the lead's handle deadline.
    deadline_start = models.DateTimeField(null=True, blank=True)
    deadline_amount = models.PositiveSmallIntegerField(null=True, blank=True)
    deadline_unit = models.CharField(max_length=16, blank=True)
    yellow_at = models.DateTimeField(null=True, blank=True)
    card = models.CharField(_("card"), max_length=8, choices=Card.choices, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    rating = models.PositiveSmallIntegerField(_("participation rating"), null=True, blank=True)
    rating_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("joint-handling task")
        verbose_name_plural = _("joint-handling tasks")
        ordering = ["-is_lead", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="case_task_once"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(is_lead=True), name="case_task_one_lead"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="case_task_rating_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.department_id}"

    @property
    def reported_in_late(self) -> bool:
        at = self.reported_in_at
        return at is not None and at > self.report_in_due_at

    @property
    def own_deadline(self) -> bool:
        """The dispatcher gave this co-handler its own deadline (else it is the lead's)."""
        return self.deadline_amount is not None


class PhotoStage(models.TextChoices):
    REPORT = "report", _("Report")
    RESULT = "result", _("Result")
    VERIFY = "verify", _("Verification")


class CasePhoto(models.Model):
    """A checked, re-encoded photo (EXIF stripped, random name; see `cases/photos.py`).

    Uploaded first (`POST /uploads`), then attached to a case or an event by its random
    `key`; unattached uploads are purged after a day.
    """

    key = models.CharField(max_length=32, unique=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos"
    )
    stage = models.CharField(max_length=8, choices=PhotoStage.choices, blank=True)
    file = models.CharField(max_length=200)
    content_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class IdempotencyRecord(models.Model):
    """`Idempotency-Key` of a create request: the same key returns the first result."""

    owner = models.CharField(max_length=80)  # "user:<id>" or "anon:<ip>"
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)  # sha256 of the canonical request body
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
