from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gridlink.demo"
    label = "demo"
    verbose_name = "Demo district"
