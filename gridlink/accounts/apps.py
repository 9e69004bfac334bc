from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "gridlink.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from gridlink.accounts import signals  # noqa: F401  (connects the audit receivers)
