from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "摸排"

    def ready(self):
        from core.exports import exports
        from toilets.hooks import toilets_moving

        from .exports import coverage_export, inspection_export, missing_export
        from .reference import ensure_reference_data
        from .services import lock_inspections_of

        post_migrate.connect(ensure_reference_data, sender=self)
        toilets_moving.connect(lock_inspections_of)
        exports.register("export_inspections", "待核查摸排记录", inspection_export)
        exports.register("export_coverage", "全覆盖情况", coverage_export)
        exports.register("export_missing", "未摸排厕所", missing_export)
