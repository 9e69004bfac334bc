"""Client applications of the Open311 GeoReport v2 interface (Open311 客户端应用).

An administrator issues one API key per application (`gridlink open311 create-key NAME` or
the admin); the key is shown once and stored only as a hash, like `accounts.ApiToken`.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

KEY_PREFIX = "o311"  # a public prefix, not a secret


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ClientApplication(models.Model):
    """A resident app, city portal or civic-tech tool allowed to post service requests."""

    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(_("key id"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 client application")
        verbose_name_plural = _("Open311 client applications")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_key() -> tuple[str, str, str]:
        """Return (key_id, secret, the full api_key string)."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return key_id, secret, f"{KEY_PREFIX}_{key_id}_{secret}"

    @staticmethod
    def split_key(api_key: str) -> tuple[str, str] | None:
        """(key_id, secret) of a well-formed api_key, else None."""
        parts = api_key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        return parts[1], parts[2]

    def set_secret(self, secret: str) -> None:
        self.secret_hash = _hash_secret(secret)

    def matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, _hash_secret(secret))
