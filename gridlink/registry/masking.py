"""Masking of personal data (SPEC §2): what every screen, API and export shows by default."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters: 370211********1234."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****8000."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# Field name → masking function, per registry kind. These are the fields an unmask can reveal.
MASKED_FIELDS: dict[str, dict[str, object]] = {
    "resident": {"id_number": mask_id_number, "phone": mask_phone},
    "organisation": {"contact_phone": mask_phone},
}
