from django.db import models


class RoundKind(models.TextChoices):
    SURVEY = "survey", "摸排"
    LOOK_BACK = "look_back", "回头看"
    FOLLOW_UP = "follow_up", "后续"


class RoundStatus(models.TextChoices):
    DRAFT = "draft", "未开始"
    OPEN = "open", "进行中"
    CLOSED = "closed", "已结束"


class CheckMethod(models.TextChoices):
    ASK_AND_LOOK = "ask_and_look", "询问+查看"
    ON_SITE = "on_site", "实地查看"
    USE_ON_SPOT = "use_on_spot", "当场使用"


class Usability(models.TextChoices):
    NORMAL = "normal", "正常使用"
    UNUSABLE = "unusable", "不能使用"
    NOT_YEAR_ROUND = "not_year_round", "不能全年使用"


# The national definition: a problem toilet cannot be used, or not all year round.
PROBLEM_USABILITY = {Usability.UNUSABLE, Usability.NOT_YEAR_ROUND}


class InspectionStatus(models.TextChoices):
    SUBMITTED = "submitted", "待核查"
    RETURNED = "returned", "已退回"
    VERIFIED = "verified", "已核查"


# Problem categories (summary columns 12–19), in the form's order.
PROBLEM_CATEGORIES = [
    ("room", "厕屋问题", 12),
    ("fixture", "厕具问题", 13),
    ("tank", "粪池问题", 14),
    ("water", "用水问题", 15),
    ("frost", "防冻问题", 16),
    ("waste", "粪污处理问题", 17),
    ("maintenance", "后期维护问题", 18),
    ("other", "其他问题", 19),
]

SIGN_OFF_TEXT = "本人对摸排结果真实性负责"

PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Checked from the header before decoding: a 50 MP phone sensor (8160×6144) passes, a
# 12000×12000 "pixel bomb" does not; decoding the largest allowed costs about 160 MB (RGB).
PHOTO_MAX_PIXELS = 52_000_000
# The stored photo is re-encoded with its longest side at most this (4096×3072 ≈ 12.6 MP,
# what most phones store by default), so what is served is bounded too.
PHOTO_STORED_MAX_SIDE = 4096
PHOTO_MAX_PER_INSPECTION = 9
