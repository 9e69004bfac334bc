from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "gridlink.supervision"
    label = "supervision"
    verbose_name = _("Supervision orders")

    def ready(self) -> None:
        from gridlink.cases.services.supervision_hook import ORDER_OPENERS
        from gridlink.supervision.services import order_open_for_case

        if order_open_for_case not in ORDER_OPENERS:
            ORDER_OPENERS.append(order_open_for_case)
