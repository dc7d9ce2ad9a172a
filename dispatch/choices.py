"""Choices of the work-process problem register (工作推进中存在的问题)."""

from django.db import models


class WorkProblemCategory(models.TextChoices):
    """The problems seed 001 asks to survey in how the work is done, plus 其他."""

    TARGET = "target", "目标任务不合理"
    RUSHING = "rushing", "盲目赶进度、压任务"
    FORCED = "forced", "不尊重农民意愿强行推"
    ONE_MODEL = "one_model", "一种技术模式套到底"
    QUALITY = "quality", "产品和施工质量把控不严"
    MAINTENANCE = "maintenance", "管护机制不健全"
    OTHER = "other", "其他"


class WorkProblemState(models.TextChoices):
    OPEN = "open", "待整改"
    IN_PROGRESS = "in_progress", "整改中"
    CLOSED = "closed", "已整改销号"


class EvidenceKind(models.TextChoices):
    PHOTO = "photo", "照片"
    DOCUMENT = "document", "文件"
