from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Pages that combine several apps (home, region pages, 一户一档) and the demo county.

    The top of the app layers: it may import every app, and none imports it."""

    name = "portal"
    verbose_name = "门户"

    def ready(self):
        from surveys.hooks import worklist_annotations
        from toilets.hooks import toilet_links

        from .inspect_links import toilet_page_links
        from .worklist import recheck_annotation

        worklist_annotations.connect(recheck_annotation)
        toilet_links.connect(toilet_page_links)
