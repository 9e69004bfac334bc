"""Demo cases: every state of the workflow, made through the services, deterministic per seed."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from gridlink.cases.models import Card, Case, CaseEvent, CasePhoto, CaseTask, TaskState
from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
from gridlink.cases.services.sweep import deadline_sweep
from gridlink.cases.workflow import State
from gridlink.core.worktime import add_working_days
from gridlink.demo.cases import DemoCasesUnavailable, demo_cases_seed
from gridlink.demo.plan import build_plan
from gridlink.demo.seed import demo_seed
from gridlink.geo.locator import locator


@pytest.fixture
def district(db, settings, tmp_path):
    """The small demo district and the published shipped taxonomy, without cases."""
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_seed(plan=build_plan(scale="small", seed=1))
    locator.invalidate()


def publish_taxonomy() -> None:
    taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)


def fingerprint() -> list[tuple[str, str, str, bool, bool]]:
    rows = Case.objects.values_list("category__code", "state", "channel", "supervised", "whistled")
    return sorted(rows)


def test_seed_command_adds_cases_in_every_state(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    publish_taxonomy()
    out = StringIO()
    call_command("seed_demo", "--scale", "small", "--seed", "1", stdout=out, verbosity=0)

    assert "demo cases" in out.getvalue()
    states = Counter(Case.objects.values_list("state", flat=True))
    assert set(states) == set(State.values), set(State.values) - set(states)
    assert 60 <= Case.objects.count() <= 120
    assert len(set(Case.objects.values_list("channel", flat=True))) >= 5
    assert len(set(Case.objects.values_list("category__code", flat=True))) >= 10
    assert Case.objects.filter(supervised=True).exists()
    # A supervision order opened automatically (dissatisfied twice), not only by a supervisor.
    from gridlink.supervision.models import SupervisionOrder

    assert SupervisionOrder.objects.exclude(trigger="manual").filter(opened_by=None).exists()
    assert not Case.objects.filter(supervised=True, supervision_orders__isnull=True).exists()

    now = timezone.now()
    assert Case.objects.open().filter(deadline_at__lt=now).exists()  # red at the next sweep
    next_day_end = add_working_days(start_at=now, days=1)  # yellow within the next working day
    assert Case.objects.open().filter(deadline_at__gte=now, deadline_at__lte=next_day_end).exists()

    joint = Case.objects.filter(whistled=True)
    assert joint.count() >= 2
    assert all(c.tasks.count() >= 2 for c in joint)
    assert CaseTask.objects.filter(state=TaskState.DONE, rating__isnull=False).exists()
    assert CasePhoto.objects.filter(case__isnull=False, stage="result").exists()
    merged = Case.objects.get(state=State.MERGED, pk=Case.objects.filter(state=State.MERGED)
                              .values_list("pk", flat=True).first())  # fmt: skip
    assert merged.parent is not None and merged.parent.is_open
    # Every step went through the services: one timeline event per change at least.
    assert CaseEvent.objects.count() > 4 * Case.objects.count()

    result = deadline_sweep()  # the worker's sweep finds overdue cases
    assert result.red > 0 and result.escalated > 0
    assert Case.objects.filter(card=Card.RED).exists() or result.escalated == result.red
    # ... and every state is still on show afterwards (make run's first minute).
    assert set(Case.objects.values_list("state", flat=True)) == set(State.values)


def test_seed_cases_is_deterministic_and_runs_once(no_reference_taxonomy, district):
    with pytest.raises(DemoCasesUnavailable, match="taxonomy"):
        demo_cases_seed()
    publish_taxonomy()
    with transaction.atomic():
        counts = demo_cases_seed(seed=1)
        first = fingerprint()
        transaction.set_rollback(True)
    assert not Case.objects.exists()
    assert sum(counts.values()) == len(first)

    out = StringIO()
    call_command("seed_cases", "--seed", "1", stdout=out)
    assert f"Seeded {len(first)} demo cases" in out.getvalue()
    assert fingerprint() == first  # same categories, channels, states and flags

    events = CaseEvent.objects.count()
    assert demo_cases_seed(seed=2) == {}  # cases exist: nothing to do
    out = StringIO()
    call_command("seed_cases", stdout=out)
    assert "already has cases" in out.getvalue()
    assert CaseEvent.objects.count() == events


def test_seed_without_taxonomy_seeds_no_cases(no_reference_taxonomy):
    out = StringIO()
    call_command("seed_demo", "--scale", "small", "--seed", "1", stdout=out, verbosity=0)
    assert not Case.objects.exists()
