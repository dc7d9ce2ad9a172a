from django.db import models


class LedgerState(models.TextChoices):
    """The close-out workflow; the moves between states are in ``workflow.TRANSITIONS``."""

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
# An entry whose deadline has passed while the work is still to be done is overdue. Once the
# village reports it rectified the deadline was met; acceptance is the township's own queue.
OVERDUE_STATES = [LedgerState.PLANNED, LedgerState.IN_PROGRESS]


class ProblemClass(models.TextChoices):
    """How a problem is handled (seed 000: 分类有序进行整改)."""

    MINOR = "minor", "立行立改"
    GUIDANCE = "guidance", "技术指导整改"
    HARD = "hard", "重点难点（分年度计划）"
    MAINTENANCE = "maintenance", "后期管护"


class Cause(models.TextChoices):
    CONSTRUCTION = "construction", "施工不到位"
    PRODUCT = "product", "产品质量不过关"
    TECH_MODE = "tech_mode", "技术模式不适宜"
    MAINTENANCE = "maintenance", "管护不到位"
    OTHER = "other", "其他"


class FundingSource(models.TextChoices):
    HOUSEHOLD = "household", "农户自筹"
    TOWNSHIP = "township", "乡镇资金"
    COUNTY = "county", "县级计划"
    OTHER = "other", "其他"


class ConsentMethod(models.TextChoices):
    SCREEN = "screen", "手机屏幕签字"
    PAPER = "paper", "纸质签字拍照"


class PhotoKind(models.TextChoices):
    AFTER = "after", "整改后照片"
    CONSENT = "consent", "户主签字"


class LocationSource(models.TextChoices):
    EXIF = "exif", "照片自带定位"
    BROWSER = "browser", "手机定位"


class PlanState(models.TextChoices):
    """A township's rectification plan (整改方案) filed with the county (审核备案); the moves are in
    ``plans.PLAN_TRANSITIONS``."""

    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已报备"
    ACCEPTED = "accepted", "已备案"
    RETURNED = "returned", "已退回"


# The states the township may still edit the plan in; a submitted or accepted plan is frozen.
PLAN_EDITABLE = [PlanState.DRAFT, PlanState.RETURNED]
# A long-term problem (seed 002: 短期内难以解决…路线图、任务书和时间表) is a HARD entry with a
# planned year; problems of a fiscally supported toilet built up to this year go into the
# region's toilet plan year by year, later ones are the township's and the household's.
LONG_TERM_REGION_PLAN_UNTIL = 2017
