"""Assessment schemes as data: validating, creating and publishing them, and the two shipped
schemes (the digital urban management street scheme and the hotline three rates).

A scheme is written once, through `scheme_create`, which refuses it whole with every field at
fault named (`SchemeInvalid`); a published scheme is frozen. Scorecards: `scorecards.py`;
bonuses and exemptions: `adjustments.py`; the rules in prose: docs/scoring.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gridlink.assessment.indicators import BY_KEY
from gridlink.assessment.models import (
    METRICS,
    Deduction,
    ItemRule,
    Scheme,
    SchemeItem,
    UnitLevel,
)
from gridlink.assessment.permissions import (
    may_manage_schemes,
)
from gridlink.core.audit import audit_record
from gridlink.core.errors import DomainError, NotPermitted
from gridlink.geo.models import Level

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser

# Supervision counts a deduction may use, and the key of `order_counts_for_unit` each reads.
SUPERVISION_METRICS = {
    "supervision_opened": "opened",
    "supervision_overdue": "overdue",
    "supervision_escalated": "escalated",
}
DEDUCTION_METRICS = frozenset(METRICS) | frozenset(SUPERVISION_METRICS)
AREA_LEVELS = {
    UnitLevel.STREET: Level.STREET,
    UnitLevel.COMMUNITY: Level.COMMUNITY,
    UnitLevel.GRID: Level.GRID,
}
MAX_POINTS = 10000
MAX_TARGET = 99999
CENT = Decimal("0.01")


class SchemeInvalid(DomainError):
    """Every problem of a scheme at once, each under its field (`items[2].target`, …)."""

    status = 400

    def __init__(self, errors: list[dict[str, str | None]]) -> None:
        fields = list(dict.fromkeys(e["field"] or "*" for e in errors))
        super().__init__(
            ngettext(
                "%(n)d field of the scheme is invalid: %(fields)s.",
                "%(n)d fields of the scheme are invalid: %(fields)s.",
                len(fields),
            )
            % {"n": len(fields), "fields": ", ".join(fields)},
            code=str(errors[0]["code"]),
            field=errors[0]["field"],
        )
        self.errors = errors


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


# --- schemes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    indicator: str
    points: float | Decimal
    target: float | Decimal
    rule: str = ItemRule.THRESHOLD
    points_per_pp: float | Decimal | None = None


@dataclass(frozen=True)
class DeductionSpec:
    metric: str
    points: float | Decimal
    max_points: float | Decimal | None = None


@dataclass(frozen=True)
class GradeSpec:
    excellent: float | Decimal = 90
    good: float | Decimal = 80
    passing: float | Decimal = 60


def _number(value: Any, limit: float) -> Decimal | None:
    """The value as a Decimal of cents, or None when it is no finite number within ±limit."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f) or abs(f) > limit:
        return None
    return Decimal(str(f)).quantize(CENT)


def _cents(value: Any) -> Decimal:
    """A validated number as a Decimal of cents."""
    number = _number(value, MAX_TARGET)
    if number is None:
        raise ValueError(value)
    return number


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str | None]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.items.append({"code": code, "field": field, "message": message})


def _check_items(items: Sequence[ItemSpec], total: Decimal | None, err: _Errors) -> None:
    if not items:
        err.add("items", "required", _("A scheme needs at least one item."))
        return
    seen: set[str] = set()
    weights: list[Decimal] = []
    for i, item in enumerate(items):
        at = f"items[{i}]"
        indicator = BY_KEY.get(item.indicator)
        if indicator is None:
            err.add(
                f"{at}.indicator",
                "unknown_indicator",
                _("Unknown indicator: %(key)s.") % {"key": str(item.indicator)[:40]},
            )
        elif item.indicator in seen:
            err.add(f"{at}.indicator", "duplicate", _("Each indicator appears once."))
        seen.add(item.indicator)
        points = _number(item.points, MAX_POINTS)
        if points is None or points < 0:
            err.add(
                f"{at}.points",
                "invalid",
                _("The points of an item are a number from 0 to %(n)s.") % {"n": MAX_POINTS},
            )
        else:
            weights.append(points)
        target = _number(item.target, MAX_TARGET)
        if indicator is not None and indicator.kind == "rate":
            if target is None or not 0 <= target <= 100:
                err.add(
                    f"{at}.target",
                    "out_of_range",
                    _("The target of a rate is a percentage from 0 to 100."),
                )
        elif target is None or target < 0:
            err.add(f"{at}.target", "invalid", _("The target is a number of at least 0."))
        if item.rule not in ItemRule.values:
            err.add(f"{at}.rule", "invalid", _("The rule is threshold or linear."))
        if item.points_per_pp is not None:
            per = _number(item.points_per_pp, MAX_POINTS)
            if per is None or per < 0:
                err.add(
                    f"{at}.points_per_pp",
                    "invalid",
                    _("Points per point short is a number of at least 0."),
                )
    if total is not None and len(weights) == len(items) and sum(weights) != total:
        err.add(
            "items",
            "weights_sum",
            _("The items' points add up to %(sum)s; the scheme's total is %(total)s.")
            % {"sum": sum(weights), "total": total},
        )


def _check_deductions(deductions: Sequence[DeductionSpec], err: _Errors) -> None:
    for i, d in enumerate(deductions):
        at = f"deductions[{i}]"
        if d.metric not in DEDUCTION_METRICS:
            err.add(
                f"{at}.metric",
                "unknown_metric",
                _("Unknown count: %(m)s.") % {"m": str(d.metric)[:40]},
            )
        per = _number(d.points, MAX_POINTS)
        if per is None or per < 0:
            err.add(
                f"{at}.points",
                "invalid",
                _("Points per occurrence are a number of at least 0 (taken off)."),
            )
        if d.max_points is not None:
            cap = _number(d.max_points, MAX_POINTS)
            if cap is None or cap < 0:
                err.add(f"{at}.max_points", "invalid", _("The cap is a number of at least 0."))


def scheme_validate(
    *,
    code: str,
    name_zh: str,
    unit_level: str,
    total_points: float | Decimal,
    items: Sequence[ItemSpec],
    deductions: Sequence[DeductionSpec] = (),
    grades: GradeSpec | None = None,
) -> list[dict[str, str | None]]:
    """Every problem of a scheme, as {"code", "field", "message"}; empty when it is valid."""
    err = _Errors()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", code or ""):
        err.add("code", "invalid", _("The code is 1–32 lower-case letters, digits, - or _."))
    elif Scheme.objects.filter(code=code).exists():
        err.add("code", "taken", _("A scheme with this code exists already."))
    if not (name_zh or "").strip() or len(name_zh) > 100:
        err.add("name_zh", "required", _("The Chinese name is required (at most 100 characters)."))
    if unit_level not in UnitLevel.values:
        err.add(
            "unit_level",
            "invalid",
            _("The units judged are grid, community, street or department."),
        )
    total = _number(total_points, MAX_POINTS)
    if total is None or total <= 0:
        err.add("total_points", "invalid", _("The total points are a number above 0."))
        total = None
    _check_items(items, total, err)
    _check_deductions(deductions, err)
    g = grades or GradeSpec()
    lines = [_number(x, 100) for x in (g.passing, g.good, g.excellent)]
    if any(x is None or x < 0 for x in lines) or not (lines[0] <= lines[1] <= lines[2]):  # type: ignore[operator]  # None excluded just before
        err.add(
            "grades", "invalid", _("Grade lines lie within 0–100, with pass ≤ good ≤ excellent.")
        )
    return err.items


@transaction.atomic
def scheme_create(
    *,
    actor: AnyUser | None,
    code: str,
    name_zh: str,
    unit_level: str,
    items: Sequence[ItemSpec],
    deductions: Sequence[DeductionSpec] = (),
    name_en: str = "",
    description: str = "",
    total_points: float | Decimal = 100,
    grades: GradeSpec | None = None,
    red_list_size: int = 3,
    publish: bool = False,
) -> Scheme:
    """Create a scheme with its items and deductions (a draft unless `publish`).

    `actor` None is the system (the shipped schemes); a person must be allowed to manage
    schemes. Invalid input raises `SchemeInvalid` naming every field at fault."""
    if actor is not None and not may_manage_schemes(actor):
        raise NotPermitted(_("Only supervisors and administrators manage assessment schemes."))
    problems = scheme_validate(
        code=code,
        name_zh=name_zh,
        unit_level=unit_level,
        total_points=total_points,
        items=items,
        deductions=deductions,
        grades=grades,
    )
    if not 0 <= red_list_size <= 50:
        problems.append(
            {
                "code": "invalid",
                "field": "red_list_size",
                "message": _("The red list holds 0 to 50 units."),
            }
        )
    if problems:
        raise SchemeInvalid(problems)
    g = grades or GradeSpec()
    person = actor if actor is not None and actor.is_authenticated else None
    scheme = Scheme.objects.create(
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en.strip(),
        unit_level=unit_level,
        description=description,
        total_points=_cents(total_points),
        grade_excellent=_cents(g.excellent),
        grade_good=_cents(g.good),
        grade_pass=_cents(g.passing),
        red_list_size=red_list_size,
        created_by=person,
        published_at=timezone.now() if publish else None,
    )
    SchemeItem.objects.bulk_create(
        SchemeItem(
            scheme=scheme,
            position=i,
            indicator=it.indicator,
            points=_cents(it.points),
            target=_cents(it.target),
            rule=it.rule,
            points_per_pp=_cents(it.points_per_pp) if it.points_per_pp is not None else None,
        )
        for i, it in enumerate(items)
    )
    Deduction.objects.bulk_create(
        Deduction(
            scheme=scheme,
            position=i,
            metric=d.metric,
            points=_cents(d.points),
            max_points=_cents(d.max_points) if d.max_points is not None else None,
        )
        for i, d in enumerate(deductions)
    )
    audit_record(
        actor=person,
        action="assessment.scheme_created",
        target_type="scheme",
        target_id=scheme.pk,
        data={"code": code, "published": publish},
    )
    return scheme


@transaction.atomic
def scheme_publish(*, actor: AnyUser, code: str) -> Scheme:
    """Publish a draft scheme: from now on it is frozen."""
    if not may_manage_schemes(actor):
        raise NotPermitted(_("Only supervisors and administrators manage assessment schemes."))
    scheme = Scheme.objects.select_for_update().filter(code=code).first()
    if scheme is None:
        raise NotFound(_("No scheme has this code."), code="not_found", field="scheme")
    if scheme.published_at is not None:
        raise Conflict(_("The scheme is published already."), code="published", field="state")
    scheme.published_at = timezone.now()
    scheme.save(update_fields=["published_at"])
    audit_record(
        actor=actor,
        action="assessment.scheme_published",
        target_type="scheme",
        target_id=scheme.pk,
        data={"code": code},
    )
    return scheme


def scheme_get(code: str) -> Scheme:
    scheme = Scheme.objects.prefetch_related("items", "deductions").filter(code=code).first()
    if scheme is None:
        raise NotFound(
            _("No scheme has the code %(code)s.") % {"code": (code or "")[:32]},
            code="not_found",
            field="scheme",
        )
    return scheme


HOTLINE_CODE = "hotline-3rates"
URBAN_CODE = "urban-street"


def scheme_hotline_three_rates(
    *,
    weights: tuple[float, float, float] = (30, 35, 35),
    code: str = HOTLINE_CODE,
    unit_level: str = UnitLevel.DEPARTMENT,
    publish: bool = True,
) -> Scheme:
    """The 12345 hotline "three rates" (三率) scheme: response, resolution and satisfaction,
    each earning its weight × its rate (linear, target 100%). Weights differ by city."""
    return scheme_create(
        actor=None,
        code=code,
        name_zh="12345热线三率考核",
        name_en="Hotline three rates",
        unit_level=unit_level,
        description="响应率、解决率、满意率按权重计分：得分 = 权重 × 率。",
        total_points=sum(weights),
        items=[
            ItemSpec("response_rate", weights[0], 100, ItemRule.LINEAR),
            ItemSpec("resolution_rate", weights[1], 100, ItemRule.LINEAR),
            ItemSpec("satisfaction_rate", weights[2], 100, ItemRule.LINEAR),
        ],
        publish=publish,
    )


def scheme_urban_management(*, code: str = URBAN_CODE, publish: bool = True) -> Scheme:
    """The digital urban management (数字城管) street scheme of SPEC §4: on-time closing
    ≥ 70% earns 50 points, −1 per point below; closing ≥ 90% earns 20 points; satisfaction
    30 points × rate; −0.2 per rework, −0.5 per case failing verification three times,
    −0.5 per supervision order gone overdue."""
    return scheme_create(
        actor=None,
        code=code,
        name_zh="数字城管街道综合考核",
        name_en="Digital urban management — streets",
        unit_level=UnitLevel.STREET,
        description="按期结案率≥70%得50分，每低1个百分点扣1分；结案率≥90%得20分；"
        "满意率30分按比例计分；返工每件扣0.2分，三次核查不通过每件扣0.5分，督办超期每件扣0.5分。",
        items=[
            ItemSpec("on_time_closing_rate", 50, 70, ItemRule.THRESHOLD, points_per_pp=1),
            ItemSpec("closing_rate", 20, 90, ItemRule.THRESHOLD),
            ItemSpec("satisfaction_rate", 30, 100, ItemRule.LINEAR),
        ],
        deductions=[
            DeductionSpec("rework", 0.2),
            DeductionSpec("failed_verification_3", 0.5),
            DeductionSpec("supervision_overdue", 0.5),
        ],
        publish=publish,
    )


def schemes_ensure_defaults() -> list[Scheme]:
    """Create the shipped schemes if they are missing (idempotent)."""
    with transaction.atomic():
        if not Scheme.objects.filter(code=URBAN_CODE).exists():
            scheme_urban_management()
        if not Scheme.objects.filter(code=HOTLINE_CODE).exists():
            scheme_hotline_three_rates()
    return list(Scheme.objects.filter(code__in=[URBAN_CODE, HOTLINE_CODE]))
