from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _chain_heads_create(**kwargs: Any) -> None:
    """After `migrate` or `flush`: an empty, signed head for each chain never written to."""
    from gridlink.core.ledger import CHAINS, chain_head_create

    state = kwargs.get("apps")
    if state is not None:
        try:
            state.get_model("core", "PruneRecord")
        except LookupError:
            return  # migrated back before the signed heads: nothing to create
    for chain in CHAINS:
        chain_head_create(chain)


class CoreConfig(AppConfig):
    name = "gridlink.core"
    label = "core"
    verbose_name = _("Core and logs")

    def ready(self) -> None:
        post_migrate.connect(_chain_heads_create, sender=self)
        from gridlink.core import checks  # noqa: F401  (registers the system checks)
