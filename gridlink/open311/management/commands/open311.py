"""gridlink open311 create-key NAME | revoke-key KEY_ID | list-keys: Open311 API keys."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.core.errors import DomainError
from gridlink.open311.models import ClientApplication
from gridlink.open311.services import client_application_create, client_application_revoke


class Command(BaseCommand):
    help = "Issue (printed once), revoke and list the API keys of Open311 client applications."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create-key", help="issue a key for a new client application")
        create.add_argument("name", help="the application, e.g. 'district resident app'")
        revoke = sub.add_parser("revoke-key", help="revoke an application's key")
        revoke.add_argument("key_id")
        sub.add_parser("list-keys", help="list applications (never their keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "create-key":
            try:
                _, api_key = client_application_create(actor=None, name=options["name"])
            except DomainError as exc:
                raise CommandError(f"{exc.field}: {exc.message}") from None
            self.stdout.write(api_key)
        elif verb == "revoke-key":
            application = ClientApplication.objects.filter(key_id=options["key_id"]).first()
            if application is None:
                raise CommandError(f"key_id: no application with key id {options['key_id']!r}")
            client_application_revoke(actor=None, application=application)
            self.stdout.write(f"revoked {application.key_id} ({application.name})")
        else:
            for app in ClientApplication.objects.order_by("created_at", "id"):
                state = f"revoked {app.revoked_at:%Y-%m-%d}" if app.revoked_at else "active"
                used = f"{app.last_used_at:%Y-%m-%d %H:%M}" if app.last_used_at else "never used"
                self.stdout.write(f"{app.key_id}\t{state}\t{used}\t{app.name}")
