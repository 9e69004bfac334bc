"""Keeping the rollups: incrementally on every case event, or rebuilt from the case log.

Incremental (`rollup_on_event`, a listener of `gridlink.cases.services.events`): in the
transaction that records the event, the case's contributions are recomputed from its whole
timeline (`facts.case_contributions`), compared with what `CaseFacts` says it contributed
before, and only the difference is added to the `IndicatorDay` rows — so the result does not
depend on the order cases change in, and equals a rebuild (`rollups_rebuild`) exactly
(`tests/test_assessment_rollups.py` checks it on random histories).

Concurrent writers: the case row is locked by the transition; the shared rollup rows are
created with `ignore_conflicts` and updated with `F()` increments, always in sorted key order,
so two transactions on different cases never deadlock on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef

from gridlink.assessment.facts import CaseInfo, EventInfo, Key, RuleBook, case_contributions
from gridlink.assessment.models import METRICS, CaseFacts, Exemption, IndicatorDay
from gridlink.assessment.rules import rulebook
from gridlink.cases.models import Case, CaseEvent
from gridlink.core.worktime import WorkCalendar, current_calendar

BATCH = 2000
ALL = ""  # the category of the per-unit day totals


def case_info(case: Case) -> CaseInfo:
    ids = [int(p) for p in case.grid.path.strip("/").split("/") if p]
    # A caller that already knows (a bulk query annotating `assessment_exempt`) saves a query.
    exempt = getattr(case, "assessment_exempt", None)
    if exempt is None:
        exempt = Exemption.objects.filter(case_id=case.pk, approved=True).exists()
    contactable = bool(case.reporter_id or case.reporter_phone or case.reporter_email)
    return CaseInfo(category=case.category.code, areas=tuple(reversed(ids)), exempt=bool(exempt),
                    contactable=contactable)  # fmt: skip


def event_info(e: CaseEvent) -> EventInfo:
    return EventInfo(
        kind=e.kind,
        at=e.created_at,
        actor_id=e.actor_id,
        from_state=e.from_state,
        to_state=e.to_state,
        data=e.data or {},
        snapshot=e.snapshot or {},
    )


def contributions_of(
    case: Case, calendar: WorkCalendar | None = None, rules: RuleBook | None = None
) -> dict[Key, int]:
    events = [event_info(e) for e in CaseEvent.objects.filter(case_id=case.pk).order_by("id")]
    return case_contributions(
        case_info(case), events, calendar or current_calendar(), rules or rulebook()
    )


def _as_rows(contributions: dict[Key, int]) -> list[list[Any]]:
    return [[*key, value] for key, value in sorted(contributions.items())]


def _from_rows(rows: Iterable[list[Any]]) -> dict[Key, int]:
    return {(str(u), str(c), str(d), str(m)): int(v) for u, c, d, m, v in rows}


def with_totals(contributions: dict[Key, int]) -> dict[Key, int]:
    """The contributions plus the same counted under category ALL ("") — the per-unit day
    totals every query without a category filter reads (one row a day instead of one per
    sub-class)."""
    out: dict[Key, int] = defaultdict(int)
    for (unit, category, day, metric), value in contributions.items():
        out[(unit, category, day, metric)] += value
        out[(unit, ALL, day, metric)] += value
    return dict(out)


def rollup_apply(delta: dict[Key, int]) -> None:
    """Add `delta` (and its category-ALL totals) to the rollup rows, creating missing rows,
    in sorted key order."""
    grouped: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for (unit, category, day, metric), value in with_totals(delta).items():
        if value and metric in METRICS:
            grouped[(unit, category, day)][metric] = value
    if not grouped:
        return
    keys = sorted(grouped)
    IndicatorDay.objects.bulk_create(
        [IndicatorDay(unit=u, category=c, day=d) for u, c, d in keys],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    for unit, category, day in keys:
        changes = grouped[(unit, category, day)]
        IndicatorDay.objects.filter(unit=unit, category=category, day=day).update(
            **{metric: F(metric) + value for metric, value in changes.items()}
        )


def case_facts_refresh(case: Case, calendar: WorkCalendar | None = None) -> dict[Key, int]:
    """Recompute one case's contributions and apply the difference; returns the delta."""
    new = contributions_of(case, calendar)
    facts = CaseFacts.objects.select_for_update().filter(case_id=case.pk).first()
    old = _from_rows(facts.contributions) if facts else {}
    delta = {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)}
    delta = {k: v for k, v in delta.items() if v}
    rollup_apply(delta)
    if facts is None:
        CaseFacts.objects.create(case_id=case.pk, contributions=_as_rows(new))
    elif delta:
        facts.contributions = _as_rows(new)
        facts.save(update_fields=["contributions", "computed_at"])
    return delta


def rollup_on_event(case: Case, event: CaseEvent) -> None:
    """The event listener: runs inside the transaction that wrote `event`."""
    case_facts_refresh(case)


def rollups_rebuild(
    *, progress: Callable[[int], object] | None = None, chunk: int = 1000
) -> dict[str, int]:
    """Throw the rollups away and recompute them from every case's timeline."""
    calendar = current_calendar()
    rules = rulebook()
    totals: dict[Key, int] = defaultdict(int)
    facts: list[CaseFacts] = []
    cases = 0
    with transaction.atomic():
        CaseFacts.objects.all().delete()
        IndicatorDay.objects.all().delete()
        ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), chunk):
            batch = ids[start : start + chunk]
            by_case: dict[int, list[EventInfo]] = defaultdict(list)
            for e in CaseEvent.objects.filter(case_id__in=batch).order_by("case_id", "id"):
                by_case[e.case_id].append(event_info(e))
            approved = Exemption.objects.filter(case_id=OuterRef("pk"), approved=True)
            cases_batch = (
                Case.objects.filter(pk__in=batch)
                .select_related("grid", "category")
                .annotate(assessment_exempt=Exists(approved))
            )
            for case in cases_batch:
                own = case_contributions(case_info(case), by_case[case.pk], calendar, rules)
                for key, value in with_totals(own).items():
                    totals[key] += value
                facts.append(CaseFacts(case_id=case.pk, contributions=_as_rows(own)))
                cases += 1
            CaseFacts.objects.bulk_create(facts, batch_size=BATCH)
            facts = []
            if progress is not None:
                progress(len(batch))
        rows: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
        for (unit, category, day, metric), value in totals.items():
            rows[(unit, category, day)][metric] = value
        IndicatorDay.objects.bulk_create(
            [IndicatorDay(unit=u, category=c, day=d, **m) for (u, c, d), m in rows.items()],
            batch_size=BATCH,
        )
    return {"cases": cases, "rows": len(rows)}
