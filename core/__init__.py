"""The bottom layer: model-less machinery every app shares.

``core`` imports only Django, DRF and libraries, never a project app. Apps fill its registries
(exports, hooks) from their ``AppConfig.ready()``; see docs/architecture.md.
"""
