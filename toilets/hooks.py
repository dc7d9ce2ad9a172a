"""Where higher apps add to the register's pages without toilets importing them (connected in
their ``AppConfig.ready()``)."""

from core.hooks import Hook

toilet_links = Hook(
    "toilet_links",
    """Sent by the toilet page with ``user`` and ``toilet``; each receiver returns a list of
    links ``{"label", "url", "primary"}`` shown with the toilet (e.g. the open round's 摸排).""",
)
