"""Areas (district → street/town → community/village → grid → micro-grid) and departments.

One self-referencing `Area` model with a level, an official hierarchical code and a
validity window, in the manner of MapIt. `path` ("/1/5/23/") is kept by `Area.save()` so
that a subtree is one indexed prefix filter.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    DISTRICT = 1, _("District")  # 区
    STREET = 2, _("Street / town")  # 街道 / 镇
    COMMUNITY = 3, _("Community / village")  # 社区 / 村
    GRID = 4, _("Grid")  # 网格
    MICRO_GRID = 5, _("Micro-grid")  # 微网格


# Length of the official code at each level: 6-digit district admin code, then 3 digits
# for the street, the community, the grid and the micro-grid.
CODE_LENGTH = {
    Level.DISTRICT: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
    Level.GRID: 15,
    Level.MICRO_GRID: 18,
}


class AreaKind(models.TextChoices):
    DISTRICT = "district", _("District")
    STREET = "street", _("Street")  # 街道
    TOWN = "town", _("Town")  # 镇
    COMMUNITY = "community", _("Community")  # 社区
    VILLAGE = "village", _("Village")  # 村
    GRID = "grid", _("Grid")
    MICRO_GRID = "micro_grid", _("Micro-grid")


class GridType(models.TextChoices):
    URBAN = "urban", _("Urban")  # 城市社区网格
    VILLAGE_TO_COMMUNITY = "v2c", _("Village-to-community")  # 村改居
    RURAL = "rural", _("Rural")  # 农村
    ENTERPRISE = "enterprise", _("Enterprise")  # 企业/园区
    SPECIAL = "special", _("Special")  # 专属网格 (schools, hospitals…)
    MOUNTAIN_FOREST = "mountain", _("Mountain and forest")  # 山林
    SEA = "sea", _("Sea")  # 海域


class AreaQuerySet(models.QuerySet["Area"]):
    def current(self, on: Any = None) -> AreaQuerySet:
        day = on or timezone.localdate()
        return self.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gt=day))

    def subtree_of(self, area: Area) -> AreaQuerySet:
        return self.filter(path__startswith=area.path)


class Area(models.Model):
    """An administrative or grid area (区域/网格) with its polygon."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=AreaKind.choices)
    code = models.CharField(_("official code"), max_length=18, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    grid_type = models.CharField(
        _("grid type"), max_length=16, choices=GridType.choices, blank=True
    )
    geometry = models.JSONField(_("polygon (GeoJSON, WGS84)"), null=True, blank=True)
    households = models.PositiveIntegerField(_("household count"), default=0)
    residents = models.PositiveIntegerField(_("resident count"), default=0)
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    updated_at = models.DateTimeField(auto_now=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="area_valid_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="area_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # `path` is the one derived column: it makes subtree filters a prefix match.
        # When an area moves to another parent, its whole subtree moves with it.
        with transaction.atomic():
            super().save(*args, **kwargs)
            parent_path = self.parent.path if self.parent_id and self.parent else "/"
            path = f"{parent_path}{self.pk}/"
            old = self.path
            if path != old:
                self.path = path
                Area.objects.filter(pk=self.pk).update(path=path)
                if old:
                    Area.objects.filter(path__startswith=old).exclude(pk=self.pk).update(
                        path=Concat(Value(path), Substr("path", len(old) + 1))
                    )

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        lang = get_language() or "zh-hans"
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p][:-1]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        want = CODE_LENGTH.get(Level(self.level)) if self.level else None
        if want and (len(self.code) != want or not self.code.isdigit()):
            errors["code"] = str(
                _("A %(level)s code has %(n)d digits.")
                % {"level": Level(self.level).label, "n": want}
            )
        if self.level and self.parent_id is not None and self.parent is not None:
            if self.parent.level != self.level - 1:
                errors["parent"] = str(_("The parent must be one level up."))
            elif not self.code.startswith(self.parent.code):
                errors["code"] = str(
                    _("The code must start with the parent's code %(code)s.")
                    % {"code": self.parent.code}
                )
        elif self.level and self.level != Level.DISTRICT:
            errors["parent"] = str(_("Only a district has no parent."))
        if self.pk and "parent" not in errors:
            stored_parent = (
                Area.objects.filter(pk=self.pk).values_list("parent_id", flat=True).first()
            )
            if stored_parent is not None and stored_parent != self.parent_id:
                errors["parent"] = str(
                    _(
                        "An area cannot move to another parent: end this area's validity and "
                        "create the re-drawn area under its new parent."
                    )
                )
        if self.grid_type and self.level not in (Level.GRID, Level.MICRO_GRID):
            errors["grid_type"] = str(_("Only grids have a grid type."))
        if self.geometry is not None:
            from gridlink.geo.geometry import geometry_error

            problem = geometry_error(self.geometry)
            if problem:
                errors["geometry"] = problem
        if errors:
            raise ValidationError(errors)


class DepartmentKind(models.TextChoices):
    URBAN_MANAGEMENT = "urban_management", _("Urban management")  # 城管
    HOUSING = "housing", _("Housing and construction")  # 住建
    ECOLOGY = "ecology", _("Ecology and environment")  # 生态环境
    MARKET = "market", _("Market regulation")  # 市场监管
    PUBLIC_SECURITY = "public_security", _("Public security")  # 公安
    WATER = "water", _("Water")  # 水务
    TRANSPORT = "transport", _("Transport")  # 交通运输
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")  # 民政
    HEALTH = "health", _("Health")  # 卫健
    EMERGENCY = "emergency", _("Emergency management")  # 应急管理
    COMMAND_CENTRE = "command_centre", _("Command centre")  # 指挥中心
    STREET_OFFICE = "street_office", _("Street office")  # 街道办事处
    OTHER = "other", _("Other")


class Department(models.Model):
    """A functional department (职能部门) or one of its street-level stations."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=DepartmentKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="stations"
    )
    areas = models.ManyToManyField(Area, related_name="departments", verbose_name=_("areas served"))
    phone = models.CharField(_("duty phone"), max_length=20, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"


class GeoRevision(models.Model):
    """A counter bumped whenever areas change, so every process can refresh its locator."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    revision = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("geo revision")
        verbose_name_plural = _("geo revisions")

    def __str__(self) -> str:
        return f"geo revision {self.revision}"
