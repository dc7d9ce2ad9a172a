"""The 33 columns of 农村厕所问题摸排整改情况汇总表 (seed 000) and its three header levels."""

from dataclasses import dataclass

COLUMN_COUNT = 33


@dataclass(frozen=True)
class Group:
    """A header cell spanning columns ``first``..``last``; ``children`` is the next level."""

    title: str
    first: int
    last: int
    children: tuple["Group", ...] = ()


def _leaf(col: int, title: str) -> Group:
    return Group(title, col, col)


# The printed header: level 1 → level 2 → level 3. A level-2 cell without children spans the
# third level too (merged vertically), as on the form.
HEADER = (
    Group(
        "摸排情况",
        1,
        5,
        (
            _leaf(1, "农村厕所总数"),
            _leaf(2, "农村公厕数"),
            _leaf(3, "2013年以来各级财政支持改造的农村户厕数"),
            _leaf(4, "自建户厕数"),
            _leaf(5, "涉及行政村数"),
        ),
    ),
    Group(
        "问题厕所情况",
        6,
        28,
        (
            Group(
                "问题厕所数",
                6,
                9,
                (
                    _leaf(6, "问题户厕总数"),
                    _leaf(7, "2013年以来财政支持问题户厕数"),
                    _leaf(8, "自建问题户厕数"),
                    _leaf(9, "问题公厕数"),
                ),
            ),
            Group("问题情况", 10, 11, (_leaf(10, "不能使用"), _leaf(11, "不能全年使用"))),
            Group(
                "导致厕所不能使用或不能全年使用的原因",
                12,
                19,
                (
                    _leaf(12, "厕屋问题"),
                    _leaf(13, "厕具问题"),
                    _leaf(14, "粪池问题"),
                    _leaf(15, "用水问题"),
                    _leaf(16, "防冻问题"),
                    _leaf(17, "粪污处理问题"),
                    _leaf(18, "后期维护问题"),
                    _leaf(19, "其他问题"),
                ),
            ),
            Group("问题厕所类型", 20, 21, (_leaf(20, "水冲厕所"), _leaf(21, "旱厕"))),
            Group(
                "建造年份",
                22,
                28,
                tuple(
                    _leaf(22 + i, label)
                    for i, label in enumerate(
                        ["2013以前", "2013至2016", "2017", "2018", "2019", "2020", "2021"]
                    )
                ),
            ),
        ),
    ),
    Group(
        "完成整改情况",
        29,
        33,
        (
            _leaf(29, "已完成整改户厕总数"),
            _leaf(30, "已完成2013年以来财政支持户厕整改数"),
            _leaf(31, "已完成自建户厕整改数"),
            _leaf(32, "已完成整改公厕数"),
            _leaf(33, "未完成整改数"),
        ),
    ),
)


def column_titles(bucket_labels: list[str] | None = None) -> dict[int, str]:
    """Each column's own (lowest-level) title; the build-year columns follow the template."""
    titles = {}

    def walk(group):
        if not group.children:
            titles[group.first] = group.title
        for child in group.children:
            walk(child)

    for group in HEADER:
        walk(group)
    if bucket_labels:
        for i, label in enumerate(bucket_labels):
            titles[22 + i] = label
    return titles


COLUMNS = list(range(1, COLUMN_COUNT + 1))
