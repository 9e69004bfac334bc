"""Background tasks of the registry."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from gridlink.registry.exchange import purge_stale_uploads
from gridlink.registry.exchange.uploads import UPLOAD_MAX_AGE


@task()
def purge_import_uploads() -> int:
    """Delete uploaded import files that were never applied or cancelled."""
    return purge_stale_uploads(UPLOAD_MAX_AGE)


PERIODIC = {"purge_import_uploads": (purge_import_uploads, dt.timedelta(hours=1))}
