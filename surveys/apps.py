from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "摸排"

    def ready(self):
        from .reference import ensure_reference_data

        post_migrate.connect(ensure_reference_data, sender=self)
