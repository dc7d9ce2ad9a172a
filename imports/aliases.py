"""Value aliases: what people write in a list column for one of its official values.

A cell of a list column (厕所类别, 技术模式, 厕所类型, 资金来源, 使用情况, 问题类型, 整改情况) is
looked up, in this order, among

1. the **official values** — what the template's drop-down offers (``columns.DROPDOWNS``; the
   problem category names for 问题类型);
2. the **built-in aliases** — ``BUILT_IN`` below plus the older spellings ``columns`` has always
   accepted — the same for every county;
3. the **county's own aliases** (``imports.models.ValueAlias``), added by the county's staff
   on the alias page; they apply to imports into that county only.

An alias names exactly one official value of its column. It can never be an official value
or a built-in alias of its column: a county may add words, not change what a word means.
Cells and aliases are compared in a normal form: NFKC (full-width letters, digits and
punctuation become half-width) with every space removed.

``Vocabulary`` is one import's view of the three layers; ``add_alias`` and ``delete_alias`` are
the county staff's writes (atomic, guarded, logged).
"""

import logging
import re
import unicodedata
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from regions.choices import IMPORT_LEDGER, Level
from regions.guards import require
from regions.models import Region
from regions.scoping import has_capability
from surveys.choices import PROBLEM_CATEGORIES
from toilets.choices import Funding, TechType, ToiletKind

from .columns import COLUMN_BY_KEY, DROPDOWNS

logger = logging.getLogger(__name__)

ALIAS_MAX_LENGTH = 50


class AliasColumn(models.TextChoices):
    """The list columns that take aliases, by the parsed row's attribute."""

    KIND = "kind", "厕所类别"
    TECH_TYPE = "tech_type", "技术模式"
    FLUSH_KIND = "flush_kind", "厕所类型"
    FUNDING = "funding", "资金来源"
    USABILITY = "usability", "使用情况"
    CATEGORIES = "categories", "问题类型"
    CLOSED = "closed", "整改情况"


# The aliases every county's import accepts, as counties' ledgers commonly write them.
# WS/T 598.3 names the biogas type 三联沼气池式; the national statistics say 三联通沼气池式.
BUILT_IN: dict[str, dict[str, str]] = {
    AliasColumn.KIND: {
        "户用厕所": ToiletKind.HOUSEHOLD,
        "农户厕所": ToiletKind.HOUSEHOLD,
        "公共厕所": ToiletKind.PUBLIC,
    },
    AliasColumn.TECH_TYPE: {
        "三格式": TechType.THREE_COMPARTMENT,
        "三格化粪池": TechType.THREE_COMPARTMENT,
        "三格式化粪池": TechType.THREE_COMPARTMENT,
        "双瓮式": TechType.DOUBLE_URN,
        "双瓮漏斗": TechType.DOUBLE_URN,
        "沼气池式": TechType.BIOGAS,
        "三联沼气池式": TechType.BIOGAS,
        "三联通沼气池": TechType.BIOGAS,
        "粪尿分集": TechType.URINE_DIVERSION,
        "双坑交替": TechType.DOUBLE_PIT,
    },
    AliasColumn.FLUSH_KIND: {},
    AliasColumn.FUNDING: {
        "财政补助": Funding.GOVERNMENT,
        "财政奖补": Funding.GOVERNMENT,
        "农户自建": Funding.SELF_BUILT,
    },
    AliasColumn.USABILITY: {},
    AliasColumn.CATEGORIES: {},
    AliasColumn.CLOSED: {},
}

_SPACES = re.compile(r"\s+")


def normalized(text) -> str:
    """The form cells and aliases are compared in: NFKC, no spaces."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text or "")))


def official_values(column: str) -> list[tuple[str, str]]:
    """(stored value, official text) of each official value of ``column``, in the template's
    order."""
    if column == AliasColumn.CATEGORIES:
        return [(code, name) for code, name, _ in PROBLEM_CATEGORIES]
    choices = COLUMN_BY_KEY[column].choices
    return [(choices[text], text) for text in DROPDOWNS[AliasColumn(column).label]]


def built_in_aliases(column: str) -> dict[str, str]:
    """alias text → stored value: the older spellings ``columns`` accepts (厕具 for 厕具问题,
    农户自建 …) and ``BUILT_IN``."""
    official = {text for _, text in official_values(column)}
    if column == AliasColumn.CATEGORIES:
        older = {name.removesuffix("问题"): code for code, name, _ in PROBLEM_CATEGORIES}
    else:
        older = dict(COLUMN_BY_KEY[column].choices)
    aliases = {text: value for text, value in older.items() if text not in official}
    aliases.update(BUILT_IN[column])
    return aliases


def official_text(column: str, value: str) -> str:
    return dict(official_values(column)).get(value, value)


class Vocabulary:
    """The values one import accepts in each list column: the official values, the built-in
    aliases and (optionally) one county's own, given as (column, alias, value) triples."""

    def __init__(self, county_aliases: Iterable[tuple[str, str, str]] = ()):
        self._lookup: dict[str, dict[str, str]] = {}
        self._aliases: dict[str, list[str]] = {}
        for column in AliasColumn.values:
            values = official_values(column)
            lookup = {normalized(text): value for value, text in values}
            lookup.update(
                (normalized(text), value)
                for text, value in built_in_aliases(column).items()
                if normalized(text) not in lookup
            )
            self._lookup[column] = lookup
            self._aliases[column] = list(built_in_aliases(column))
        known = {column: {value for value, _ in official_values(column)} for column in AliasColumn}
        for column, alias, value in county_aliases:
            key = normalized(alias)
            # A stored alias that no longer names an official value, or that a later built-in
            # alias took over, is ignored rather than trusted.
            if (
                column in self._lookup
                and value in known[column]
                and key not in self._lookup[column]
            ):
                self._lookup[column][key] = value
                self._aliases[column].append(alias)

    def value(self, column: str, text) -> str | None:
        """The stored value ``text`` names in ``column``, or None."""
        return self._lookup[column].get(normalized(text))

    def offered(self, column: str) -> list[str]:
        return [text for _, text in official_values(column)]

    def aliases(self, column: str) -> list[str]:
        return self._aliases[column]

    def accepted_text(self, column: str) -> str:
        """`可填：三格化粪池式、…；也可写：三格式、…` for an error message."""
        text = f"可填：{'、'.join(self.offered(column))}"
        if self._aliases[column]:
            text += f"；也可写：{'、'.join(self._aliases[column])}"
        return text


BUILT_IN_VOCABULARY = Vocabulary()


def county_vocabulary(county: Region | None) -> Vocabulary:
    """The vocabulary of an import into ``county`` (the built-in one when it is unknown)."""
    if county is None:
        return BUILT_IN_VOCABULARY
    from .models import ValueAlias  # the model validates through this module

    triples = ValueAlias.objects.filter(county=county).values_list("column", "alias", "value")
    return Vocabulary(triples)


# Checking an alias ------------------------------------------------------------------------


def alias_problems(column: str, alias: str, value: str) -> dict[str, list[str]]:
    """What is wrong with the alias ``alias`` → ``value`` in ``column``, by field (empty when
    nothing is): the rules a county's own alias must follow, in Chinese."""
    problems: dict[str, list[str]] = {}
    if column not in AliasColumn.values:
        problems["column"] = ["请选择别名适用的列。"]
        return problems
    name = AliasColumn(column).label
    officials = dict(official_values(column))
    if value not in officials:
        problems["value"] = [f"请选择{name}的一个规范值：{'、'.join(officials.values())}。"]
    key = normalized(alias)
    if not key:
        problems["alias"] = ["请填写别名，即台账里的写法，如“三格式”。"]
    elif len(key) > ALIAS_MAX_LENGTH:
        problems["alias"] = [f"别名不能超过 {ALIAS_MAX_LENGTH} 个字。"]
    else:
        for official_value, text in officials.items():
            if normalized(text) == key:
                meaning = "" if official_value == value else "，含义不同，不能作为别名"
                problems["alias"] = [f"“{text}”本身就是{name}的规范值{meaning}。"]
                break
        else:
            for text, built_in in built_in_aliases(column).items():
                if normalized(text) == key:
                    problems["alias"] = [
                        f"“{text}”已是系统内置的别名（表示“{officials.get(built_in)}”），"
                        "不需要再添加。"
                        if built_in == value
                        else f"“{text}”已是系统内置的别名，表示“{officials.get(built_in)}”，"
                        "不能改为其他含义。"
                    ]
                    break
    return problems


# Writes (county staff) --------------------------------------------------------------------

NO_ALIAS_RIGHT = "只有县级管理员可以添加或删除本县的取值别名。"


def can_edit_aliases(user, county: Region) -> bool:
    """The county's own staff (a county role holding IMPORT_LEDGER at that county, or a
    global administrator) edit its aliases; a township's staff only read them."""
    return (
        has_capability(user, IMPORT_LEDGER)
        and county.level == Level.COUNTY
        and Region.objects.visible_to(user).filter(pk=county.pk).exists()
    )


def _require_editor(actor, county: Region):
    require(actor, IMPORT_LEDGER, NO_ALIAS_RIGHT)
    if not can_edit_aliases(actor, county):
        raise PermissionDenied(NO_ALIAS_RIGHT)


@transaction.atomic
def add_alias(*, actor, county: Region, column: str, alias: str, value: str):
    """Add the county's alias ``alias`` → ``value`` for ``column``; ValidationError (by field,
    in Chinese) when it breaks a rule or the county already has it."""
    from .models import ValueAlias

    _require_editor(actor, county)
    problems = alias_problems(column, alias, value)
    key = normalized(alias)
    if not problems:
        existing = ValueAlias.objects.filter(county=county, column=column, alias=key).first()
        if existing is not None:
            problems["alias"] = [
                f"本县已有别名“{key}”（表示“{existing.official_text}”）；如要改变含义，请先删除它。"
            ]
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            created = ValueAlias.objects.create(
                county=county, column=column, alias=key, value=value, created_by=actor
            )
    except IntegrityError as exc:  # the same alias added at the same moment
        raise ValidationError({"alias": [f"本县已有别名“{key}”。"]}) from exc
    logger.info(
        "value alias %s added for county %s: %s %r -> %s by %s",
        created.pk,
        county.code,
        column,
        key,
        value,
        actor,
    )
    return created


@transaction.atomic
def delete_alias(*, actor, county: Region, alias_id: int) -> None:
    """Delete one of the county's aliases. ``ValueAlias.DoesNotExist`` (a 404) for an alias
    of another county or one already deleted."""
    from .models import ValueAlias

    _require_editor(actor, county)
    alias = ValueAlias.objects.visible_to(actor).select_for_update().get(pk=alias_id, county=county)
    alias.delete()
    logger.info(
        "value alias %s deleted from county %s: %s %r -> %s by %s",
        alias_id,
        county.code,
        alias.column,
        alias.alias,
        alias.value,
        actor,
    )
