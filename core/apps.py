from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Model-less: installed only so that its signal receivers are connected at start-up."""

    name = "core"
    verbose_name = "公共组件"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from core.web.sessions import mark_seen

        user_logged_in.connect(mark_seen, dispatch_uid="core.web.sessions.mark_seen")
