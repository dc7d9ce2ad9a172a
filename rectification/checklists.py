"""Acceptance checklists (验收清单), kept as data per technical type.

Items follow the three national standards the work plans name (seed 001): GB/T 38836-2020
农村三格式户厕建设技术规范, GB/T 38837-2020 农村三格式户厕运行维护规范 and GB/T 38838-2020
农村集中下水道收集户厕建设技术规范, as provincial acceptance guides quote them. Types the
standards do not cover are accepted against the general items. Each item's text is stored with
the result, so a later edit of this list never changes a recorded acceptance.
"""

from dataclasses import dataclass

from toilets.choices import TechType


@dataclass(frozen=True)
class Item:
    code: str
    standard: str
    text: str


GB_38836 = "GB/T 38836-2020"
GB_38837 = "GB/T 38837-2020"
GB_38838 = "GB/T 38838-2020"
GENERAL = "通用要求"

THREE_COMPARTMENT_BUILD = [
    Item("3836-volume", GB_38836, "化粪池有效容积达标（3人及以下≥1.5 m³，4–6人≥2.0 m³，7–9人≥2.5 m³）"),
    Item("3836-ratio", GB_38836, "三格容积比约为 2:1:3"),
    Item("3836-depth", GB_38836, "化粪池有效深度≥1000 mm"),
    Item("3836-leak", GB_38836, "满水试验无渗漏"),
    Item("3836-pipes", GB_38836, "过粪管位置、安装正确"),
    Item("3836-vent", GB_38836, "第一格设置排气管"),
    Item("3836-slope", GB_38836, "进粪管坡度≥0.2%"),
    Item("3836-room", GB_38836, "厕屋面积≥1.2 m²，有墙、有顶、有门"),
]  # fmt: skip

OPERATION = [
    Item("3837-fixture", GB_38837, "便器、冲水设施完好，冲水正常"),
    Item("3837-cover", GB_38837, "化粪池盖板完好、密闭，无破损"),
    Item("3837-overflow", GB_38837, "粪液无满溢、无渗漏，清掏及时"),
    Item("3837-discharge", GB_38837, "粪污去向符合要求，无直排"),
    Item("3837-household", GB_38837, "农户掌握正确使用和日常维护方法"),
]  # fmt: skip

SEWER_BUILD = [
    Item("3838-connect", GB_38838, "户内排水管道接入村集中收集管网，连接完好"),
    Item("3838-leak", GB_38838, "户内外管道无渗漏、无堵塞"),
    Item("3838-well", GB_38838, "检查井设置符合要求，井盖完好"),
    Item("3838-flush", GB_38838, "便器冲水正常，存水弯防臭有效"),
    Item("3838-room", GB_38838, "厕屋面积≥1.2 m²，有墙、有顶、有门"),
]  # fmt: skip

GENERAL_ITEMS = [
    Item("gen-room", GENERAL, "厕屋完好：墙、顶、门、照明齐全"),
    Item("gen-fixture", GENERAL, "厕具完好，能正常使用"),
    Item("gen-tank", GENERAL, "粪池（坑）完好，无渗漏、无满溢"),
    Item("gen-yearround", GENERAL, "能全年正常使用（含防冻、用水）"),
    Item("gen-discharge", GENERAL, "粪污处理符合要求，无直排、无横流"),
]  # fmt: skip

CHECKLISTS: dict[str, list[Item]] = {
    TechType.THREE_COMPARTMENT: THREE_COMPARTMENT_BUILD + OPERATION,
    TechType.SEWER: SEWER_BUILD,
}


def checklist_for(tech_type: str) -> list[Item]:
    """The items a toilet of this type is accepted against."""
    return CHECKLISTS.get(tech_type, GENERAL_ITEMS)


def standards_for(tech_type: str) -> list[str]:
    return list(dict.fromkeys(item.standard for item in checklist_for(tech_type)))
