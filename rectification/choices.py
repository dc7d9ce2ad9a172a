from django.db import models


class LedgerState(models.TextChoices):
    """The close-out workflow (the transitions arrive with the rectification issue)."""

    REGISTERED = "registered", "登记"
    PLANNED = "planned", "已制定方案"
    IN_PROGRESS = "in_progress", "整改中"
    RECTIFIED = "rectified", "已整改"
    ACCEPTED = "accepted", "已验收"
    CLOSED = "closed", "已销号"


OPEN_STATES = [s for s in LedgerState if s != LedgerState.CLOSED]
