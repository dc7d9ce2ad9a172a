"""The production static-files storage: whitenoise's compressed, hashed files, without
rewriting source-map comments. Vendored libraries ship minified files whose
``sourceMappingURL`` names a map their package does not contain (Leaflet 1.9.4's
``leaflet.js.map`` is not in its npm package), and the manifest storage refuses to collect a
file whose reference it cannot resolve. We serve no source maps, so the comments are left
as they are (a browser asking for the map gets a 404, only with its developer tools open)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    return tuple(
        (
            extension,
            tuple(
                p for p in rules if "sourceMappingURL" not in (p if isinstance(p, str) else p[0])
            ),
        )
        for extension, rules in patterns
    )


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)
