"""`gridlink flush`: Django's flush, with the append-only guards of the log tables lifted
while it empties every table (the test suite's teardown of transactional tests uses it).

Flushing removes the logs and their chain heads with everything else; `post_migrate` then
creates empty, signed heads again (`gridlink.core.apps`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from gridlink.core.guards import log_guards_lifted


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        with log_guards_lifted(connections[options["database"]]):
            super().handle(**options)
