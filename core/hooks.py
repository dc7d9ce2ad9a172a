"""Hooks: how a lower app lets higher apps act without importing them.

A hook is declared by the app that fires it (``surveys.hooks.inspection_saved``) and
connected to by higher apps in their ``AppConfig.ready()``. ``send`` calls the receivers in
the order they were connected, in the caller's transaction, and lets their exceptions through
(a receiver that refuses rolls the whole change back).
"""


class Hook:
    def __init__(self, name: str, doc: str = ""):
        self.name = name
        self.__doc__ = doc
        self._receivers: list = []

    def connect(self, receiver):
        """Add ``receiver`` (once); usable as a decorator."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def send(self, **kwargs) -> list:
        """Call every receiver with ``kwargs``; their answers, in order."""
        return [receiver(**kwargs) for receiver in self._receivers]

    def __repr__(self):
        return f"<Hook {self.name}: {len(self._receivers)} receivers>"
