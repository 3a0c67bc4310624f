from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import cache
        from accounts.backends import note_organization
        from accounts.models import Organization, User

        # A saved or deleted user or organisation leaves the request cache at once.
        for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(cache.user_changed, sender=User, dispatch_uid=f"user-{name}")
            signal.connect(
                cache.organization_changed, sender=Organization, dispatch_uid=f"org-{name}"
            )
        # The session notes the user's organisation, so a request reads both at once.
        user_logged_in.connect(note_organization, dispatch_uid="note-organization")
