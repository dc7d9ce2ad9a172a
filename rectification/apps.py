from django.apps import AppConfig


class RectificationConfig(AppConfig):
    name = "rectification"
    verbose_name = "整改台账"

    def ready(self):
        from core.exports import exports
        from surveys.hooks import inspection_saved

        from .exports import ledger_export, log_export
        from .services import sync_from_inspection

        inspection_saved.connect(sync_from_inspection)
        exports.register("export_ledger", "问题台账", ledger_export)
        exports.register("export_ledger_log", "整改日志", log_export)
