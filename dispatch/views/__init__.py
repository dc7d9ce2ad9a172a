"""Pages of the dispatch app: the briefings (``briefings``) and the work-process problem
register (``problems``)."""

from .briefings import BriefingDetail, BriefingList, BriefingXlsx, FormulaEdit, Generate, Mine
from .problems import EvidenceFile, ProblemDetail, ProblemForm, ProblemList, ProblemMove
from .units import (
    UnitBriefingDetail,
    UnitBriefingList,
    UnitBriefingXlsx,
    UnitGenerate,
    UnitJob,
    UnitJobStatus,
)

__all__ = [
    "BriefingDetail",
    "BriefingList",
    "BriefingXlsx",
    "EvidenceFile",
    "FormulaEdit",
    "Generate",
    "Mine",
    "ProblemDetail",
    "ProblemForm",
    "ProblemList",
    "ProblemMove",
    "UnitBriefingDetail",
    "UnitBriefingList",
    "UnitBriefingXlsx",
    "UnitGenerate",
    "UnitJob",
    "UnitJobStatus",
]
