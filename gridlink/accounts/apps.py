from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "gridlink.accounts"
    label = "accounts"
