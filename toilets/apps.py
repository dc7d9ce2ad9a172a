from django.apps import AppConfig


class ToiletsConfig(AppConfig):
    name = "toilets"
    verbose_name = "户厕台账"

    def ready(self):
        from core.exports import exports

        from .exports import household_export, toilet_export

        exports.register("export_households", "农户台账", household_export)
        exports.register("export_toilets", "厕所台账", toilet_export)
