"""Assessment schemes (考核方案) as data, and what adjusts a scorecard: bonuses and exemptions.

A `Scheme` says which units it judges (`unit_level`), what each indicator is worth
(`SchemeItem`), what is taken off per occurrence (`Deduction`) and where the grade lines
lie. It is written once through `gridlink.assessment.schemes.scheme_create` and frozen when
published (`published_at`): a changed rule is a new scheme with a new code, so last month's
bulletin can always be recomputed. How the points are worked out: `scoring.py` and
docs/scoring.md.

A `Bonus` (加分) is a manual award to one unit for one period, with a reason, counted once a
second person approved it. An `Exemption` (免责/核减) takes one case out of every indicator
once a supervisor other than the requester approved it (`facts.CaseInfo.exempt`).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnitLevel(models.TextChoices):
    GRID = "grid", _("Grid")  # 网格
    COMMUNITY = "community", _("Community")  # 社区
    STREET = "street", _("Street")  # 街道
    DEPARTMENT = "department", _("Department")  # 职能部门


class ItemRule(models.TextChoices):
    THRESHOLD = "threshold", _("Threshold")  # 达标得分，差一个百分点扣若干分
    LINEAR = "linear", _("Linear")  # 按完成比例得分


class Scheme(models.Model):
    """An assessment scheme (考核方案): items, deductions and grade lines."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    unit_level = models.CharField(_("units judged"), max_length=16, choices=UnitLevel.choices)
    description = models.TextField(_("description"), blank=True)
    total_points = models.DecimalField(
        _("total points"), default=Decimal(100), max_digits=7, decimal_places=2
    )
    grade_excellent = models.DecimalField(
        _("excellent (优秀) from"), default=Decimal(90), max_digits=7, decimal_places=2
    )
    grade_good = models.DecimalField(
        _("good (良好) from"), default=Decimal(80), max_digits=7, decimal_places=2
    )
    grade_pass = models.DecimalField(
        _("pass (合格) from"), default=Decimal(60), max_digits=7, decimal_places=2
    )
    red_list_size = models.PositiveSmallIntegerField(_("red list size"), default=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assessment scheme")
        verbose_name_plural = _("assessment schemes")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade_pass__lte=F("grade_good"), grade_good__lte=F("grade_excellent")),
                name="scheme_grades_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class SchemeItem(models.Model):
    """One indicator of a scheme (考核指标) and the points it is worth."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    indicator = models.CharField(_("indicator"), max_length=40)  # a key of indicators.BY_KEY
    points = models.DecimalField(_("points"), max_digits=7, decimal_places=2)
    target = models.DecimalField(_("target"), max_digits=7, decimal_places=2)
    rule = models.CharField(_("rule"), max_length=16, choices=ItemRule.choices)
    # Threshold rule: points lost per percentage point (or unit) short of the target;
    # None: all or nothing.
    points_per_pp = models.DecimalField(
        _("points per point short"), null=True, blank=True, max_digits=7, decimal_places=2
    )

    class Meta:
        verbose_name = _("scheme item")
        verbose_name_plural = _("scheme items")
        ordering = ["scheme", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=0, target__gte=0), name="scheme_item_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.points}"


class Deduction(models.Model):
    """Points taken off per occurrence (扣分项), e.g. 0.2 per rework."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="deductions")
    position = models.PositiveSmallIntegerField(default=0)
    # A rollup counter (`rework`, `failed_verification_3`, …) or a supervision count
    # (`supervision_opened`, `supervision_overdue`, `supervision_escalated`).
    metric = models.CharField(_("counted"), max_length=40)
    points = models.DecimalField(_("points per occurrence"), max_digits=7, decimal_places=2)
    max_points = models.DecimalField(
        _("at most"), null=True, blank=True, max_digits=7, decimal_places=2
    )

    class Meta:
        verbose_name = _("deduction")
        verbose_name_plural = _("deductions")
        ordering = ["scheme", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="deduction_non_negative"),
        ]

    def __str__(self) -> str:
        return f"−{self.points} × {self.metric}"


class Bonus(models.Model):
    """A manual bonus (加分) to one unit for one period, counted once approved."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="bonuses")
    unit = models.CharField(_("unit"), max_length=24)  # `area:<id>` or `dept:<id>`
    period_start = models.DateField()
    period_end = models.DateField()
    points = models.DecimalField(_("points"), max_digits=7, decimal_places=2)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True)
    review_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("bonus")
        verbose_name_plural = _("bonuses")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="bonus_positive"),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("requested_by")),
                name="bonus_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.points} {self.unit} {self.period_start}"


class Exemption(models.Model):
    """A request to take one case out of the assessment (免责/核减), and its review."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="exemptions")
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True)  # None: waiting for review
    review_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(approved__isnull=True), name="exemption_one_pending"
            ),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("requested_by")),
                name="exemption_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"exemption of case {self.case_id}"
