from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "gridlink.registry"
    label = "registry"
