"""The other names county ledgers give the template's columns: data, kept in this one place.

A ledger kept before this system has the columns of whatever form the province, city or
county handed out, under that form's names. Each template column is also found under the
names below (compared as ``reader.header_name`` compares headers: without spaces, a leading
``*`` or a bracketed hint, so ``身份证号码（18位）`` is ``身份证号码``). The template's
填写说明 sheet lists them per column.

Where the names come from:

- the county and township work plans for the 摸排 and the 2022 回头看 (the project's seed
  documents): the 钦州 回头看 plan and its 汇总表 (建造年份, 问题厕所类型, 不能使用 / 不能全年
  使用, 各级财政支持改造 / 自建), a county plan after 农办社〔2024〕4号 (农村户厕问题摸排调查表,
  技术模式, 谁摸排、谁签字), a township plan (问题户厕台账);
- survey forms published with earlier plans: 淄博 2008 改厕 technical plan (户厕类型, 是否使用),
  华容县北景港镇 2019 调查摸底 plan (户厕 and 公厕, 一宅一厕), 璧山区广普镇 2022 调查摸底 plan
  (使用状况), a national monitoring-point form (调查员, 调查日期);
- the names county registers commonly print for the rest: 身份证号码 and 公民身份号码 (the ID
  card's own label), 手机号码 / 联系方式 / 电话, 组别 / 村民组 / 自然村（组）, 改厕模式 /
  改厕类型, 改厕年份 / 建设年份, 排查日期 — not found in a published form here, kept because
  each can only mean its column.

A name is listed only where it means the same column; names that mean something else in
some forms (e.g. 厕所类型 for the technical type, 问题情况 for a free-text description) are
left out. Values are checked as always, so 是否正常使用 with 是/否 in it is reported row by row
with the values that are accepted.
"""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "区划代码": (
        "行政村区划代码",
        "行政村代码",
        "村区划代码",
        "村级区划代码",
        "统计用区划代码",
        "行政区划代码",
        "区划编码",
        "村代码",
    ),
    "村民小组": ("村民组", "村小组", "小组", "组别", "组", "所在组", "自然村", "自然村组"),
    "厕所类别": ("类别", "户厕或公厕", "户厕/公厕", "户厕公厕"),
    "户主姓名": ("户主", "户主名", "户主名字", "农户姓名", "姓名"),
    "身份证号": (
        "身份证号码",
        "公民身份号码",
        "公民身份证号码",
        "身份证",
        "户主身份证号",
        "户主身份证号码",
        "身份证件号码",
    ),
    "联系电话": (
        "电话",
        "电话号码",
        "手机号码",
        "手机号",
        "手机",
        "联系方式",
        "户主电话",
        "户主联系电话",
    ),
    "公厕名称": ("公厕名", "公共厕所名称"),
    "技术模式": (
        "改厕模式",
        "改厕类型",
        "改厕技术模式",
        "技术类型",
        "户厕类型",
        "改造模式",
        "卫生厕所类型",
    ),
    "厕所类型": ("水冲或旱厕", "水冲/旱厕", "水冲旱厕"),
    "建造年份": (
        "改厕年份",
        "建设年份",
        "改造年份",
        "建成年份",
        "修建年份",
        "建造年度",
        "改厕年度",
        "建设年度",
        "改造年度",
    ),
    "资金来源": ("资金渠道", "建设资金来源", "改厕资金来源", "改造资金来源"),
    "使用情况": (
        "是否正常使用",
        "能否正常使用",
        "使用状况",
        "使用状态",
        "厕所使用情况",
        "是否使用",
    ),
    "问题类型": ("问题类别", "问题厕所类型", "存在问题", "存在问题类型", "主要问题", "问题原因"),
    "整改情况": ("是否销号", "销号情况", "整改状态", "整改结果", "是否整改"),
    "摸排人": ("摸排人员", "摸排人姓名", "摸排责任人", "排查人", "排查人员", "调查人", "调查员"),
    # The village by name (imports.villages): names that can only mean the township or the
    # village, never its code or a village group.
    "乡镇": ("乡镇街道", "所在乡镇", "乡镇名称", "乡镇街道名称", "所属乡镇"),
    "行政村": ("行政村社区", "村名", "村委会", "行政村名称", "村名称", "所在行政村", "所属行政村"),
    "摸排日期": (
        "排查日期",
        "摸排时间",
        "排查时间",
        "调查日期",
        "调查时间",
        "入户日期",
        "入户时间",
    ),
}
