"""drf-spectacular: describe ApiTokenAuthentication as HTTP bearer authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apitokens.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "个人 API 令牌（在“API 令牌”页面创建，以 tl_ 开头）："
            "`Authorization: Bearer <令牌>`。",
        }
