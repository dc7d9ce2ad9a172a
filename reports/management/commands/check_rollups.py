"""Check the village rollups against the full build (issue 16).

For each round (or ``--round ID``) and its county (or ``--region CODE`` inside it): the stored
rollups that claim to be current must equal a recomputation from scratch, and the table read
through the rollups must equal ``build_summary`` at the same cut-off, row by row and column by
column. Prints every difference and exits non-zero if there is any."""

from django.core.management.base import BaseCommand, CommandError

from regions.models import Region
from reports.build import build_summary
from reports.rollups import current_summary, differences
from surveys.models import SurveyRound


def compare(survey_round, region) -> list[str]:
    found = differences(survey_round, region)
    read = current_summary(survey_round, region, user=None)
    built = build_summary(survey_round, region, read.cutoff)
    expected = {row.code: row.values for row in built.rows}
    for row in read.rows:
        for column, value in row.values.items():
            if expected.get(row.code, {}).get(column) != value:
                found.append(
                    f"{survey_round.name} {row.code} {row.name}: column {column} read "
                    f"{value}, built {expected.get(row.code, {}).get(column)}"
                )
    if [row.code for row in read.rows] != [row.code for row in built.rows]:
        found.append(f"{survey_round.name} {region.code}: the rows differ")
    if [e.message for e in read.errors] != [e.message for e in built.errors]:
        found.append(f"{survey_round.name} {region.code}: the data errors differ")
    return found


class Command(BaseCommand):
    help = "核对各行政村汇总缓存与全量汇总是否一致（不一致时列出差异并以非零状态退出）。"

    def add_arguments(self, parser):
        parser.add_argument("--round", type=int, help="摸排轮次 ID（缺省：全部轮次）")
        parser.add_argument("--region", help="区划代码（缺省：轮次所属的县）")

    def handle(self, *args, **options):
        rounds = SurveyRound.objects.select_related("county", "template").order_by("pk")
        if options["round"] is not None:
            rounds = rounds.filter(pk=options["round"])
            if not rounds.exists():
                raise CommandError(f"摸排轮次 {options['round']} 不存在。")
        region = None
        if options["region"]:
            code = options["region"].strip().ljust(12, "0")
            region = Region.objects.filter(code=code).first()
            if region is None:
                raise CommandError(f"区划代码 {options['region']} 不存在。")
        found, checked = [], 0
        for survey_round in rounds:
            target = region or survey_round.county
            if region is not None and not (
                region.code.startswith(survey_round.county.prefix)
                or survey_round.county.code.startswith(region.prefix)
            ):
                continue
            found += compare(survey_round, target)
            checked += 1
        for line in found:
            self.stdout.write(line)
        if found:
            raise CommandError(f"{len(found)} 处不一致。")
        self.stdout.write(f"{checked} 个轮次核对一致。")
