"""The transactional outbox (发件箱): events to deliver, webhook endpoints and deliveries.

- `OutboxEntry`: one event ("case.created" + JSON payload, optionally e-mail recipients),
  written by a service in the same transaction as the change it announces.
- `WebhookEndpoint` (推送地址): a receiver URL, its signing secret and the topics it wants.
- `Delivery`: one entry to one endpoint or one e-mail address, with its attempts. The
  worker fans entries out into deliveries, then tries each due delivery until it succeeds
  or runs out of attempts (see `gridlink.outbox.services` and `docs/outbox.md`).
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOPIC_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
TOPIC_PATTERN_RE = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")
LAST_ERROR_MAX = 500


def new_secret() -> str:
    """A fresh signing secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def topic_matches(pattern: str, topic: str) -> bool:
    """`*` matches every topic, `case.*` every topic starting `case.`, else exact."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic


def validate_webhook_url(value: str) -> None:
    """An absolute http(s) URL with a host, without credentials or whitespace, whose host is
    not and does not resolve to an internal address (`gridlink.outbox.netguard`; checked
    again at every delivery)."""
    from gridlink.outbox.netguard import url_problem

    problem = url_problem(value)
    if problem is not None:
        raise ValidationError(problem.message, code=problem.code)


def validate_topic_patterns(value: Any) -> None:
    """A non-empty list of topics (`case.created`), prefixes (`case.*`) or `*`."""
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Give at least one topic."), code="topics_empty")
    for item in value:
        if not isinstance(item, str) or not TOPIC_PATTERN_RE.match(item):
            raise ValidationError(
                _("%(value)s is not a topic (like case.created, case.* or *)."),
                code="topic_invalid",
                params={"value": item},
            )


class OutboxEntry(models.Model):
    """发件箱条目 — one event to deliver; nothing is sent unless its transaction commits."""

    topic = models.CharField(_("topic"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    emails = models.JSONField(_("e-mail recipients"), default=list, blank=True)
    email_subject = models.CharField(_("e-mail subject"), max_length=200, blank=True)
    email_body = models.TextField(_("e-mail text"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(dispatched_at__isnull=True),
                name="outbox_entry_undispatched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class WebhookEndpoint(models.Model):
    """推送地址 — a receiver of signed webhook POSTs for the topics it subscribes to."""

    url = models.CharField(_("URL"), max_length=500, validators=[validate_webhook_url])
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        default=new_secret,
        validators=[MinLengthValidator(16)],
        help_text=_("Receivers check the X-Gridlink-Signature header with this secret."),
    )
    topics = models.JSONField(
        _("topics"),
        default=list,
        validators=[validate_topic_patterns],
        help_text=_('A JSON list such as ["case.created", "case.*"]; "*" receives everything.'),
    )
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, topic: str) -> bool:
        """Does this endpoint subscribe to `topic`?"""
        return any(topic_matches(pattern, topic) for pattern in self.topics)


class Delivery(models.Model):
    """投递 — one outbox entry to one webhook endpoint or one e-mail address."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    entry = models.ForeignKey(
        OutboxEntry, verbose_name=_("entry"), on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=LAST_ERROR_MAX, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="outbox_delivery_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "endpoint"],
                condition=Q(endpoint__isnull=False),
                name="outbox_delivery_once_per_endpoint",
            ),
            models.UniqueConstraint(
                fields=["entry", "email"],
                condition=~Q(email=""),
                name="outbox_delivery_once_per_email",
            ),
            models.CheckConstraint(
                condition=Q(endpoint__isnull=False, email="")
                | (Q(endpoint__isnull=True) & ~Q(email="")),
                name="outbox_delivery_one_target",
            ),
        ]

    def __str__(self) -> str:
        return str(self.delivery_id)

    @property
    def is_email(self) -> bool:
        return self.endpoint_id is None
