"""gridlink token USERNAME NAME [--days N]: issue an API token and print it once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gridlink.accounts.models import User
from gridlink.accounts.services import api_token_create
from gridlink.core.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API token for a user; the token is printed once and stored only as a hash."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for, e.g. 'hotline bridge'")
        parser.add_argument("--days", type=int, default=None, help="lifetime in days")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"username: no active user {options['username']!r}")
        try:
            _, full = api_token_create(
                actor=None, user=user, name=options["name"], days=options["days"]
            )
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from None
        self.stdout.write(full)
