"""The reports pages."""
