"""The one conflict hierarchy: a change that lost a race or no longer applies. Nothing was
written when one is raised; pages show ``message``, the API answers 409 with it."""

STALE_MESSAGE = "该记录已被他人修改，您的修改未保存。请刷新页面，查看最新内容后重新修改。"


class ConflictError(Exception):
    """Somebody else changed the same thing first, or it is in the wrong state."""

    default_message = "该记录已有变化，请刷新后查看最新内容。"

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)

    def __str__(self):
        return self.message


class StaleEditError(ConflictError):
    """Somebody saved the record after this editor read it (its version moved on)."""

    default_message = STALE_MESSAGE


# SQLite (the embedded default of ``make run``) serialises writers: a write that waited past
# the busy timeout is answered like any other lost race, never as a 500.
BUSY_MESSAGE = "其他人正在同时保存数据，您的操作未保存，请稍后重试。"


class DatabaseBusyError(ConflictError):
    """The database was busy with somebody else's write for too long; nothing was saved."""

    default_message = BUSY_MESSAGE
