"""gridlink demo_logins [--url URL]: where to sign in, and as whom, after seeding."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from gridlink.accounts.models import RoleAssignment, User
from gridlink.demo.plan import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "Print the site URL, the admin URL and one demo sign-in per role."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the site's base URL")

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["url"].rstrip("/") + "/"
        present = set(
            User.objects.filter(username__in=[name for _, name in DEMO_LOGINS]).values_list(
                "username", flat=True
            )
        )
        self.stdout.write(f"gridlink is at {base}")
        self.stdout.write(f"Django admin: {base}admin/")
        if not present:
            self.stdout.write(
                "No demo users in this database; create them with "
                "`gridlink seed --scale small --seed 1`."
            )
            return
        scopes = {
            (a.user.username, a.role): str(a.area or a.department)
            for a in RoleAssignment.objects.select_related("user", "area", "department").filter(
                user__username__in=present
            )
        }
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        width = max(len(name) for _, name in DEMO_LOGINS)
        for role, username in DEMO_LOGINS:
            if username not in present:
                continue
            scope = scopes.get((username, role), "")
            self.stdout.write(f"  {username:<{width}}  {role.label} · {scope}")
        from gridlink.open311.models import ClientApplication
        from gridlink.open311.services import DEMO_API_KEY, DEMO_KEY_ID

        demo_app = ClientApplication.objects.filter(key_id=DEMO_KEY_ID, revoked_at__isnull=True)
        if demo_app.exists():
            self.stdout.write(f"Open311 GeoReport v2: {base}open311/v2/discovery.json")
            self.stdout.write(f"  demo api_key: {DEMO_API_KEY}")
