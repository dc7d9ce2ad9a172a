from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "apitokens"
    verbose_name = "API 令牌"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI authentication extension)
