"""The rollups become leaf rows (grid × unit × sub-class × day; docs/indicators.md, "Rollups").

The rows are recomputed from what every case contributed (`CaseFacts`, exact and already in
the database: no calendar or rule lookups): where the case is goes to its grid's `area` row
only, every other unit to its row for the case's grid. A database whose rollups were loaded
without `CaseFacts` (bench/assessment.py) is left with the rows of the cases that have them
and needs `gridlink assessment rebuild`.
"""

from collections import defaultdict

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000
AREA = "area"


def _counters(model):
    skip = {"id", "unit", "category", "day", "grid"}
    return [f.name for f in model._meta.concrete_fields if f.name not in skip]


def _rebuild(apps, leaf):
    IndicatorDay = apps.get_model("assessment", "IndicatorDay")
    CaseFacts = apps.get_model("assessment", "CaseFacts")
    metrics = set(_counters(IndicatorDay))
    rows = defaultdict(lambda: defaultdict(int))
    IndicatorDay.objects.all().delete()
    facts = CaseFacts.objects.select_related("case").order_by("pk")
    changed = []
    for f in facts.iterator(chunk_size=BATCH):
        grid = f.case.grid_id
        for unit, category, day, metric, value in f.contributions:
            if metric not in metrics or not value:
                continue
            if leaf and unit.startswith("area:"):
                if unit != f"area:{grid}":
                    continue
                unit = AREA
            for cat in {category, ""}:
                rows[(unit, grid if leaf else None, cat, day)][metric] += int(value)
        if leaf and f.grid_id != grid:
            f.grid_id = grid
            changed.append(f)
        if len(changed) >= BATCH:
            CaseFacts.objects.bulk_update(changed, ["grid"])
            changed = []
    CaseFacts.objects.bulk_update(changed, ["grid"], batch_size=BATCH)
    IndicatorDay.objects.bulk_create(
        [
            IndicatorDay(unit=u, grid_id=g, category=c, day=d, **m)
            for (u, g, c, d), m in sorted(rows.items(), key=lambda kv: str(kv[0]))
            if any(m.values())
        ],
        batch_size=BATCH,
    )


def leaf_rows_from_facts(apps, schema_editor):
    _rebuild(apps, leaf=True)


def unit_rows_from_facts(apps, schema_editor):
    """Back to one row per unit × sub-class × day (every area its own row)."""
    _rebuild(apps, leaf=False)



class Migration(migrations.Migration):

    dependencies = [
        ('assessment', '0004_rules_and_case_counters'),
        ('geo', '0001_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='indicatorday',
            name='indicator_day_unique',
        ),
        migrations.AddField(
            model_name='casefacts',
            name='grid',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='geo.area', verbose_name='grid'),
        ),
        migrations.AddField(
            model_name='indicatorday',
            name='grid',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='geo.area', verbose_name='grid'),
        ),
        migrations.RunPython(leaf_rows_from_facts, unit_rows_from_facts),
    ]
