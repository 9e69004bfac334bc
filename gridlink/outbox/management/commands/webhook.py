"""gridlink webhook add URL --topic T [--topic T …] [--secret S] [--description D]
gridlink webhook list · gridlink webhook remove ID · gridlink webhook deliver"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from gridlink.core.errors import DomainError
from gridlink.outbox.models import Delivery, WebhookEndpoint
from gridlink.outbox.services import (
    deliveries_attempt,
    endpoint_create,
    endpoint_remove,
    outbox_dispatch,
)


class Command(BaseCommand):
    help = "Manage webhook endpoints, or deliver the outbox now."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a receiver; prints its id and secret")
        add.add_argument("url", help="http:// or https:// address that receives POSTs")
        add.add_argument(
            "--topic",
            dest="topics",
            action="append",
            required=True,
            help="topic, prefix (case.*) or * ; repeat for several",
        )
        add.add_argument("--secret", help="signing secret (default: a random one)")
        add.add_argument("--description", default="")
        sub.add_parser("list", help="show the endpoints with their pending and failed counts")
        remove = sub.add_parser("remove", help="delete an endpoint and its deliveries")
        remove.add_argument("id", type=int)
        sub.add_parser("deliver", help="dispatch new entries and try due deliveries now")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list()
        elif action == "remove":
            self._remove(options["id"])
        else:
            self._deliver()

    def _add(self, options: dict[str, Any]) -> None:
        try:
            endpoint = endpoint_create(
                actor=None,
                url=options["url"],
                topics=options["topics"],
                secret=options["secret"],
                description=options["description"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.field or 'webhook'}: {exc.message}") from None
        self.stdout.write(f"endpoint {endpoint.pk} created for {endpoint.url}")
        self.stdout.write(f"secret: {endpoint.secret}")

    def _list(self) -> None:
        endpoints = WebhookEndpoint.objects.annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        ).order_by("id")
        if not endpoints:
            self.stdout.write("no webhook endpoints")
        for endpoint in endpoints:
            self.stdout.write(
                f"{endpoint.pk}\t{'active' if endpoint.active else 'inactive'}\t{endpoint.url}"
                f"\t{','.join(endpoint.topics)}\tpending {endpoint.pending}"
                f"\tfailed {endpoint.failed}"
            )

    def _remove(self, pk: int) -> None:
        endpoint = WebhookEndpoint.objects.filter(pk=pk).first()
        if endpoint is None:
            raise CommandError(f"id: there is no webhook endpoint {pk}")
        endpoint_remove(actor=None, endpoint=endpoint)
        self.stdout.write(f"endpoint {pk} removed")

    def _deliver(self) -> None:
        dispatched = outbox_dispatch()
        counts = deliveries_attempt()
        self.stdout.write(
            f"dispatched {dispatched}, delivered {counts['delivered']}, "
            f"retrying {counts['retrying']}, failed {counts['failed']}"
        )
