from django.apps import AppConfig


class PropelConfig(AppConfig):
    name = "propel"
    verbose_name = "Propel"
