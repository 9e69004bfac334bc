"""Masking of personal data (SPEC §2): what every screen, API and export shows by default.

One rule per kind of datum, shared by the registry and the cases (a case's reporter): a
phone is masked by `mask_phone` wherever it is shown.
"""

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


def mask_name(value: str) -> str:
    """Keep the first character: 张**."""
    value = value.strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def mask_email(value: str) -> str:
    """Keep the first character of the mailbox and the domain: z***@example.com."""
    local, at, domain = value.strip().partition("@")
    if not at:
        return "*" * len(local)
    return f"{local[:1]}***@{domain}"


# Field name → masking function, per registry kind. These are the fields an unmask can reveal.
MASKED_FIELDS: dict[str, dict[str, object]] = {
    "resident": {"id_number": mask_id_number, "phone": mask_phone},
    "organisation": {"contact_phone": mask_phone},
}
