"""`collectstatic` with the production storage (DEBUG off): every static file, vendored
libraries included, is collected with its hashed name. It used to stop at Leaflet's
``sourceMappingURL`` comment naming a map its npm package does not ship, so a deployment
following docs/deploy.md could not collect its static files."""

import json

from django.core.management import call_command
from django.templatetags.static import static


def test_collectstatic_with_the_production_storage(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "core.staticfiles.StaticStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in (
        "vendor/leaflet-1.9.4/leaflet.js",
        "vendor/echarts-5.6.0/echarts.common.min.js",
        "css/app.css",
        "js/page.js",
    ):
        assert name in manifest, name
        assert (tmp_path / manifest[name]).exists()
    assert (
        static("vendor/leaflet-1.9.4/leaflet.js")
        == "/static/" + manifest["vendor/leaflet-1.9.4/leaflet.js"]
    )
