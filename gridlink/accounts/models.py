"""Users, their scoped role assignments and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridlink.accounts.roles import Role


class User(AbstractUser):
    """A person who signs in: staff of any role, or a resident."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self) -> RoleAssignmentQuerySet:
        today = timezone.localdate()
        return self.filter(
            Q(valid_from__lte=today) & (Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        )


class RoleAssignment(models.Model):
    """A role held within a scope: an area subtree or a department (角色授权)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    area = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "geo.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(default=timezone.localdate)
    valid_to = models.DateField(null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=(Q(area__isnull=False) & Q(department__isnull=True))
                | (Q(area__isnull=True) & Q(department__isnull=False)),
                name="role_scope_is_area_xor_department",
                violation_error_message=_(
                    "A role is scoped to exactly one area or one department."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "area", "department"], name="role_assignment_unique"
            ),
        ]

    def __str__(self) -> str:
        scope = self.area or self.department
        return f"{self.user} · {self.get_role_display()} @ {scope}"


TOKEN_PREFIX = "gl"  # noqa: S105  (a public prefix, not a secret)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for a machine client, stored only as a hash (API 令牌)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @staticmethod
    def new_key() -> tuple[str, str, str]:
        """Return (key_id, secret, full token string)."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return key_id, secret, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    def matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, _hash_secret(secret))

    def set_secret(self, secret: str) -> None:
        self.secret_hash = _hash_secret(secret)
