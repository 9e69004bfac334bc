from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "gridlink.web"
    label = "web"
