"""The survey pages, one module per part of the app (rounds, worklist, inspections, review,
coverage, reconcile, spot-checks); the URLs are in ``surveys/urls.py``."""
