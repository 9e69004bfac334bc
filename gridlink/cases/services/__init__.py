"""Writes of the cases app, one module per concern; import them from here.

- `taxonomy`: load and publish taxonomy versions.
- `intake`: create a case from any channel (location, attributes, photos, idempotency,
  duplicates).
- `transitions`: the one function that changes a case's state, `case_transition`.
- `joint`: joint-handling tasks (吹哨报到): report in, complete, rate participation.
- `deadlines`: deadline arithmetic on a case and the yellow/red sweep.
"""

from gridlink.cases.services.taxonomy import (
    SHIPPED_TAXONOMY,
    may_edit_taxonomy,
    read_taxonomy_file,
    taxonomy_load,
    taxonomy_publish,
)

__all__ = [
    "SHIPPED_TAXONOMY",
    "may_edit_taxonomy",
    "read_taxonomy_file",
    "taxonomy_load",
    "taxonomy_publish",
]
