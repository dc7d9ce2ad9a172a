from django.db import models


class LedgerState(models.TextChoices):
    """The close-out workflow (the transitions arrive with the rectification issue)."""

    REGISTERED = "registered", "登记"
    PLANNED = "planned", "已制定方案"
    IN_PROGRESS = "in_progress", "整改中"
    RECTIFIED = "rectified", "已整改"
    ACCEPTED = "accepted", "已验收"
    CLOSED = "closed", "已销号"
    WITHDRAWN = "withdrawn", "已撤销（摸排更正）"


# Withdrawn entries never stood (the finding was corrected before verification); they are
# kept for the audit trail and counted nowhere.
ENDED_STATES = [LedgerState.CLOSED, LedgerState.WITHDRAWN]
OPEN_STATES = [s for s in LedgerState if s not in ENDED_STATES]
