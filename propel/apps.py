from django.apps import AppConfig
from django.db.models.signals import post_migrate

from propel.db_roles import keep_app_grants


class PropelConfig(AppConfig):
    name = "propel"
    verbose_name = "Propel"

    def ready(self) -> None:
        # The deployment's system checks register when their module is imported; it reads
        # settings, which are only complete once the apps are loading.
        from propel import checks  # noqa: F401

        # Once per migrate (sender: this app), after every app's migrations ran.
        post_migrate.connect(keep_app_grants, sender=self, dispatch_uid="propel.keep_app_grants")
