from django.apps import AppConfig


class ToiletsConfig(AppConfig):
    name = "toilets"
    verbose_name = "户厕台账"
