import string

from django.db import models

# Codes people read off a plate or a slip and type on a phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL2Z5S8B")
LOOKUP_CODE_LENGTH = 8  # 25**8 ≈ 1.5e11 codes
PLATE_NUMBER_LENGTH = 8


class LeadKind(models.TextChoices):
    REPORT = "report", "问题反映"
    MAINTENANCE = "maintenance", "维修管护申请"


class LeadCategory(models.TextChoices):
    """What a visitor picks. The first group is for reports, the second for maintenance."""

    ROOM = "room", "厕屋破损、漏雨"
    FIXTURE = "fixture", "便器、冲水设施损坏"
    TANK = "tank", "粪池渗漏、满溢"
    WATER = "water", "没有水或用水不便"
    FROST = "frost", "冬季冻堵"
    WASTE = "waste", "粪污无人清运处理"
    FAKE = "fake", "改厕不实、数字改厕"
    OBJECTION = "objection", "对受益户公示有异议"
    OTHER = "other", "其他问题"
    PUMPING = "pumping", "掏粪（抽粪）"
    REPAIR = "repair", "维修"
    SERVICE_OTHER = "service_other", "其他服务"


REPORT_CATEGORIES = [
    LeadCategory.ROOM,
    LeadCategory.FIXTURE,
    LeadCategory.TANK,
    LeadCategory.WATER,
    LeadCategory.FROST,
    LeadCategory.WASTE,
    LeadCategory.FAKE,
    LeadCategory.OBJECTION,
    LeadCategory.OTHER,
]
MAINTENANCE_CATEGORIES = [LeadCategory.PUMPING, LeadCategory.REPAIR, LeadCategory.SERVICE_OTHER]
CATEGORIES_OF = {LeadKind.REPORT: REPORT_CATEGORIES, LeadKind.MAINTENANCE: MAINTENANCE_CATEGORIES}

# The ledger's problem category a report suggests when the township converts it.
PROBLEM_CATEGORY_OF = {
    LeadCategory.ROOM: "room",
    LeadCategory.FIXTURE: "fixture",
    LeadCategory.TANK: "tank",
    LeadCategory.WATER: "water",
    LeadCategory.FROST: "frost",
    LeadCategory.WASTE: "waste",
}


class LeadState(models.TextChoices):
    NEW = "new", "待处理"
    ASSIGNED = "assigned", "已派单"
    CONVERTED = "converted", "已登记整改台账"
    MERGED = "merged", "已并入整改台账"
    CLOSED = "closed", "已答复"
    DONE = "done", "已完成"
    REFUSED = "refused", "不予受理"


ENDED_LEAD_STATES = [
    LeadState.CONVERTED,
    LeadState.MERGED,
    LeadState.CLOSED,
    LeadState.DONE,
    LeadState.REFUSED,
]
# Still waiting for the township: overdue once older than LEAD_ANSWER_DAYS.
WAITING_STATES = [LeadState.NEW, LeadState.ASSIGNED]
