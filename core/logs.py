"""Management commands are quiet by default: the services' INFO log lines (one per ledger
transition, per saved inspection …) show only with ``-v 2`` or more."""

import logging
from contextlib import contextmanager


@contextmanager
def quiet_unless_verbose(verbosity: int):
    """Silence INFO and below while the block runs, unless ``verbosity`` ≥ 2."""
    if verbosity >= 2:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)
