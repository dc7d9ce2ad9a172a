from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "汇总报表"

    def ready(self):
        from core.exports import exports

        from .services import start_export_job

        # A list export too big to send at once becomes a report job with a progress bar.
        exports.set_background(start_export_job)
