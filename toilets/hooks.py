"""Where higher apps add to the register's pages without toilets importing them (connected in
their ``AppConfig.ready()``)."""

from core.hooks import Hook

toilet_links = Hook(
    "toilet_links",
    """Sent by the toilet page with ``user`` and ``toilet``; each receiver returns a list of
    links ``{"label", "url", "primary"}`` shown with the toilet (e.g. the open round's 摸排).""",
)

toilets_moving = Hook(
    "toilets_moving",
    """Sent by a household's move with ``toilet_ids`` (the toilets changing village, already
    locked, in pk order) before any of them is written. Each receiver locks the rows of its
    own that the move's triggers will rewrite (the toilets' inspections): every write takes the
    villages' version rows until the commit, so the move must wait for nothing after its first
    write (docs/architecture.md, the rollups).""",
)
