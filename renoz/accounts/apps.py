from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "renoz.accounts"
    label = "accounts"
    verbose_name = "Accounts"
