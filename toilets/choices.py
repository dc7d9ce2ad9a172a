from django.db import models


class Occupancy(models.TextChoices):
    RESIDENT = "resident", "常住"
    AWAY = "away", "长期外出"
    VACANT = "vacant", "无人户"


class ToiletKind(models.TextChoices):
    HOUSEHOLD = "household", "户厕"
    PUBLIC = "public", "公厕"


class TechType(models.TextChoices):
    """Technical types used in the national statistics."""

    THREE_COMPARTMENT = "three_compartment", "三格化粪池式"
    DOUBLE_URN = "double_urn", "双瓮漏斗式"
    BIOGAS = "biogas", "三联通沼气池式"
    URINE_DIVERSION = "urine_diversion", "粪尿分集式"
    DOUBLE_PIT = "double_pit", "双坑交替式"
    SEWER = "sewer", "完整下水道水冲式"
    OTHER_SANITARY = "other_sanitary", "其他类型卫生厕所"
    NON_SANITARY = "non_sanitary", "非卫生厕所"


class FlushKind(models.TextChoices):
    FLUSH = "flush", "水冲厕所"
    DRY = "dry", "旱厕"


# Flush or dry per technical type: (default, fixed). "宜水则水、宜旱则旱": where the type does
# not settle it (fixed False) the recorded value wins; where there is no default it must be
# recorded. 三格/双瓮/沼气 toilets are normally flushed but dry variants exist; a sewer toilet is
# always flushed; 粪尿分集 and 双坑交替 are dry by construction.
TECH_TYPE_FLUSH: dict[str, tuple[str | None, bool]] = {
    TechType.THREE_COMPARTMENT: (FlushKind.FLUSH, False),
    TechType.DOUBLE_URN: (FlushKind.FLUSH, False),
    TechType.BIOGAS: (FlushKind.FLUSH, False),
    TechType.SEWER: (FlushKind.FLUSH, True),
    TechType.URINE_DIVERSION: (FlushKind.DRY, True),
    TechType.DOUBLE_PIT: (FlushKind.DRY, True),
    TechType.OTHER_SANITARY: (None, False),
    TechType.NON_SANITARY: (FlushKind.DRY, False),
}


class Placement(models.TextChoices):
    INDOOR = "indoor", "室内（附建式）"
    OUTDOOR = "outdoor", "室外（独立式）"


class Funding(models.TextChoices):
    GOVERNMENT = "government", "财政支持改造"
    SELF_BUILT = "self_built", "农户自建"


class LeadDepartment(models.TextChoices):
    HEALTH = "health", "卫生健康"
    HOUSING = "housing", "住房城乡建设"
    AGRICULTURE = "agriculture", "农业农村"
    OTHER = "other", "其他"


# The department that led rural toilet work in a build year (inclusive ranges). Before 2013
# the 爱卫 (patriotic health) system under the health department ran it.
LEAD_DEPARTMENT_BY_YEAR: list[tuple[int | None, int | None, str]] = [
    (None, 2016, LeadDepartment.HEALTH),
    (2017, 2018, LeadDepartment.HOUSING),
    (2019, None, LeadDepartment.AGRICULTURE),
]


def default_lead_department(build_year: int) -> str:
    for start, end, department in LEAD_DEPARTMENT_BY_YEAR:
        if (start is None or build_year >= start) and (end is None or build_year <= end):
            return department
    return LeadDepartment.OTHER


class ToiletStatus(models.TextChoices):
    ACTIVE = "active", "在用"
    DEMOLISHED = "demolished", "已拆除"


EARLIEST_BUILD_YEAR = 1950
