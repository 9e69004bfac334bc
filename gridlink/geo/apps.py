from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "gridlink.geo"
    label = "geo"
