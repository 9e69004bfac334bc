"""The base registry (一标三实): standard addresses and buildings, households, residents,
organisations, and grid-worker assignments.

Every record sits in a grid (`grid`), which is what scoped reads filter on.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridlink.core.validators import (
    id_number_disagreements,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from gridlink.geo.models import Area


class Tag(models.Model):
    """A resident tag (人员标签). Sensitive ones are shown only to roles granted them."""

    code = models.SlugField(max_length=40, unique=True)
    name_zh = models.CharField(max_length=60)
    name_en = models.CharField(max_length=80, blank=True)
    sensitive = models.BooleanField(
        default=False, help_text=_("Health, disability, special care, minors, petitions…")
    )
    granted_roles = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Role codes that may see this tag when it is sensitive."),
    )

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_zh


class BuildingUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    MIXED = "mixed", _("Mixed")
    PUBLIC = "public", _("Public")
    INDUSTRIAL = "industrial", _("Industrial")
    RURAL_HOUSE = "rural_house", _("Rural house")


class Building(models.Model):
    """A building with its standard address (标准地址/实有房屋)."""

    address_code = models.CharField(_("standard address code"), max_length=32, unique=True)
    address = models.CharField(_("address"), max_length=200)
    name = models.CharField(_("name"), max_length=100, blank=True)
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="buildings")
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    use = models.CharField(_("use"), max_length=16, choices=BuildingUse.choices)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["address_code"]

    def __str__(self) -> str:
        return self.address


class Household(models.Model):
    """A household (户) at an address."""

    number = models.CharField(_("household number"), max_length=32, unique=True)
    building = models.ForeignKey(
        Building, null=True, blank=True, on_delete=models.PROTECT, related_name="households"
    )
    room = models.CharField(_("room"), max_length=20, blank=True)
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="households_registered")

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("Registered (户籍)")
    PERMANENT = "permanent", _("Permanent non-registered (常住)")
    FLOATING = "floating", _("Floating (流动)")


class Resident(models.Model):
    """A real resident (实有人口). ID number and phone are masked unless unmasked with purpose."""

    id_number = models.CharField(
        _("resident ID number"), max_length=18, unique=True, validators=[validate_id_number]
    )
    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    phone = models.CharField(_("mobile"), max_length=11, blank=True, validators=[validate_mobile])
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="registered_residents")
    residence_type = models.CharField(
        _("residence type"),
        max_length=16,
        choices=ResidenceType.choices,
        default=ResidenceType.REGISTERED,
    )
    relation_to_head = models.CharField(_("relation to head"), max_length=20, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="residents")

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["id"]
        indexes = [models.Index(fields=["grid", "name"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            validate_id_number(self.id_number)
        except ValidationError:
            return  # the field validator reports it; sex and birth date can't be compared
        problems = id_number_disagreements(
            id_number=self.id_number.upper(), sex=self.sex or None, birth_date=self.birth_date
        )
        if problems:
            raise ValidationError(problems)


class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")  # 企业
    SHOP = "shop", _("Shop")  # 个体工商户/门店
    SCHOOL = "school", _("School")  # 学校
    SOCIAL_ORG = "social_org", _("Social organisation")  # 社会组织
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")  # 事业单位
    GOVERNMENT = "government", _("Government body")  # 机关
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """A real unit (实有单位) with its unified social credit code."""

    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="organisations")
    building = models.ForeignKey(
        Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="organisations"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    contact_phone = models.CharField(
        _("contact mobile"), max_length=11, blank=True, validators=[validate_mobile]
    )
    employees = models.PositiveIntegerField(_("employees"), default=0)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["credit_code"]

    def __str__(self) -> str:
        return self.name


class GridAssignment(models.Model):
    """A grid worker assigned to a grid (网格员配置)."""

    class Post(models.TextChoices):
        FULL_TIME = "full_time", _("Full-time grid worker")  # 专职网格员
        PART_TIME = "part_time", _("Part-time grid worker")  # 兼职网格员
        GRID_LEADER = "leader", _("Grid leader")  # 网格长

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grid_assignments"
    )
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="worker_assignments")
    post = models.CharField(max_length=16, choices=Post.choices, default=Post.FULL_TIME)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="grid_assignment_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.grid}"
