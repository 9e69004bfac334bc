from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "gridlink.core"
    label = "core"
    verbose_name = "Core"
