"""Writes to areas and departments that other processes must hear about."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gridlink.geo.locator import locator
from gridlink.geo.models import GeoRevision


def geo_revision_bump() -> None:
    """Record that areas changed: every process rebuilds its locator index on next use."""
    updated = GeoRevision.objects.filter(pk=1).update(
        revision=F("revision") + 1, changed_at=timezone.now()
    )
    if not updated:
        GeoRevision.objects.get_or_create(pk=1, defaults={"revision": 1})
    transaction.on_commit(locator.invalidate)
