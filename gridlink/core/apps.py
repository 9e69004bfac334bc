from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "gridlink.core"
    label = "core"
    verbose_name = _("Core and logs")

    def ready(self) -> None:
        from gridlink.core import checks  # noqa: F401  (registers the system checks)
