"""Keeping the rollups: incrementally on every case event, or rebuilt from the case log.

Incremental (`rollup_on_event`, a listener of `gridlink.cases.services.events`): in the
transaction that records the event, the case's contributions are recomputed from its whole
timeline (`facts.case_contributions`), compared with what `CaseFacts` says it contributed
before, and only the difference is added to the `IndicatorDay` rows — so the result does not
depend on the order cases change in, and equals a rebuild (`rollups_rebuild`) exactly
(`tests/test_assessment_rollups.py` checks it on random histories).

Only leaf rows are written (`leaf_rows`): the counters of where the case is go to its grid's
row alone (unit `AREA`; the community, street and district are summed from their grids at
read time, `selectors.counter_sums_many`), and those of a responsible unit or a person to
that unit's row *for the case's grid*. So a case event writes rows of its own grid only: no
row is shared by every case of a street or of the district, and intake in different grids
never waits on a rollup row lock.

Concurrent writers: the case row is locked by the transition; the rollup rows are created
with `ignore_conflicts` and updated with `F()` increments, always in sorted key order, so two
transactions on cases of the same grid never deadlock on them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef

from gridlink.assessment.facts import CaseInfo, EventInfo, Key, RuleBook, case_contributions
from gridlink.assessment.models import AREA, METRICS, CaseFacts, Exemption, IndicatorDay
from gridlink.assessment.rules import rulebook
from gridlink.cases.models import Case, CaseEvent
from gridlink.core.worktime import WorkCalendar, current_calendar

BATCH = 2000
ALL = ""  # the category of the per-unit day totals
LeafKey = tuple[str, int, str, str]  # unit (AREA, office:…, dept:…, user:…), grid, category, day


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


def leaf_rows(contributions: dict[Key, int], grid_id: int) -> dict[LeafKey, dict[str, int]]:
    """A case's contributions as counters of the leaf rows it adds to (with the category-ALL
    totals): `area:<grid>` becomes the grid's `AREA` row and the areas above the grid are left
    out (they are sums of their grids' rows); every other unit keeps its name, for this
    grid."""
    grid_unit = f"area:{grid_id}"
    rows: dict[LeafKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (unit, category, day, metric), value in with_totals(contributions).items():
        if unit.startswith("area:"):
            if unit != grid_unit:
                continue
            unit = AREA
        if metric in METRICS and value:
            rows[(unit, grid_id, category, day)][metric] += value
    return {k: dict(v) for k, v in rows.items()}


def _leaf_difference(
    new: dict[LeafKey, dict[str, int]], old: dict[LeafKey, dict[str, int]]
) -> dict[LeafKey, dict[str, int]]:
    out: dict[LeafKey, dict[str, int]] = {}
    for key in set(new) | set(old):
        a, b = new.get(key, {}), old.get(key, {})
        changes = {m: a.get(m, 0) - b.get(m, 0) for m in set(a) | set(b)}
        changes = {m: v for m, v in changes.items() if v}
        if changes:
            out[key] = changes
    return out


def rollup_apply(delta: dict[LeafKey, dict[str, int]]) -> None:
    """Add `delta` to the leaf rows, creating missing rows, in sorted key order."""
    if not delta:
        return
    keys = sorted(delta)
    IndicatorDay.objects.bulk_create(
        [IndicatorDay(unit=u, grid_id=g, category=c, day=d) for u, g, c, d in keys],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    for unit, grid_id, category, day in keys:
        changes = delta[(unit, grid_id, category, day)]
        IndicatorDay.objects.filter(unit=unit, category=category, grid_id=grid_id, day=day).update(
            **{metric: F(metric) + value for metric, value in sorted(changes.items())}
        )


def case_facts_refresh(case: Case, calendar: WorkCalendar | None = None) -> dict[Key, int]:
    """Recompute one case's contributions and apply the difference; returns the delta of
    the contributions (by unit, as `case_contributions` names them)."""
    new = contributions_of(case, calendar)
    facts = CaseFacts.objects.select_for_update().filter(case_id=case.pk).first()
    old = _from_rows(facts.contributions) if facts else {}
    old_grid = (facts.grid_id or case.grid_id) if facts else case.grid_id
    delta = {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)}
    delta = {k: v for k, v in delta.items() if v}
    moved = old_grid != case.grid_id
    if delta or moved:
        rollup_apply(_leaf_difference(leaf_rows(new, case.grid_id), leaf_rows(old, old_grid)))
    if facts is None:
        CaseFacts.objects.create(case_id=case.pk, grid_id=case.grid_id,
                                 contributions=_as_rows(new))  # fmt: skip
    elif delta or moved or facts.grid_id is None:
        facts.contributions = _as_rows(new)
        facts.grid_id = case.grid_id
        facts.save(update_fields=["contributions", "grid", "computed_at"])
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
    rows: dict[LeafKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
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
                for key, counters in leaf_rows(own, case.grid_id).items():
                    row = rows[key]
                    for metric, value in counters.items():
                        row[metric] += value
                facts.append(CaseFacts(case_id=case.pk, grid_id=case.grid_id,
                                       contributions=_as_rows(own)))  # fmt: skip
                cases += 1
            CaseFacts.objects.bulk_create(facts, batch_size=BATCH)
            facts = []
            if progress is not None:
                progress(len(batch))
        IndicatorDay.objects.bulk_create(
            [
                IndicatorDay(unit=u, grid_id=g, category=c, day=d, **m)
                for (u, g, c, d), m in sorted(rows.items())
                if any(m.values())
            ],
            batch_size=BATCH,
        )
    return {"cases": cases, "rows": len(rows)}


def unit_table() -> dict[Key, int]:
    """Every counter as the units read it, {(unit, category, ISO day, metric): value}: the
    leaf rows with each grid's `AREA` counters added to the grid and every area above it.
    What the selectors sum; for checking (tests, `gridlink assessment`), not for serving."""
    from gridlink.geo.models import Area

    paths = dict(Area.objects.values_list("pk", "path"))
    out: dict[Key, int] = defaultdict(int)
    for row in IndicatorDay.objects.all().iterator(chunk_size=BATCH):
        day = row.day.isoformat()
        if row.unit == AREA:
            units = [f"area:{p}" for p in paths[row.grid_id].strip("/").split("/") if p]
        else:
            units = [row.unit]
        for metric in METRICS:
            value = getattr(row, metric)
            if value:
                for unit in units:
                    out[(unit, row.category, day, metric)] += value
    return {k: v for k, v in out.items() if v}
