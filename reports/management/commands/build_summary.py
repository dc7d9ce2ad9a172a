import json
import sys

from django.core.management.base import BaseCommand, CommandError

from regions.models import Region
from reports.build import build_summary
from surveys.models import SurveyRound

JSON_KEYS = ("round", "region", "rows", "total", "violations")


class Command(BaseCommand):
    help = "生成某轮次、某区划的汇总表（33 列），输出 JSON 或 xlsx。"

    def add_arguments(self, parser):
        parser.add_argument("--round", required=True, help="摸排轮次名称")
        parser.add_argument("--region", required=True, help="12 位区划代码（县或市）")
        parser.add_argument("--format", choices=["json", "xlsx"], default="json")
        parser.add_argument("--output", help="输出文件路径（xlsx 必填；json 缺省输出到屏幕）")

    def handle(self, *args, **options):
        code = options["region"].strip()
        # A code may be given by its significant digits (450702 for 450702000000).
        if code.isdigit() and len(code) < 12:
            code = code.ljust(12, "0")
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise CommandError(f"区划代码 {options['region']} 不存在。")
        rounds = SurveyRound.objects.filter(name=options["round"]).select_related(
            "county", "template"
        )
        # Round names are unique per county: the region picks the county when it is in one,
        # and above a county, a round of one of its counties.
        rounds = rounds.filter(county__code__startswith=region.prefix[:6])
        survey_round = rounds.order_by("-id").first()
        if survey_round is None:
            raise CommandError(f"{region.name}没有名为“{options['round']}”的摸排轮次。")
        summary = build_summary(survey_round, region)
        if options["format"] == "json":
            built = summary.as_dict()
            # Exactly the documented shape; data errors go to stderr (below).
            document = {key: built[key] for key in JSON_KEYS}
            text = json.dumps(document, ensure_ascii=False, indent=2)
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
            else:
                self.stdout.write(text)
        else:
            data = summary.xlsx()
            if options["output"]:
                with open(options["output"], "wb") as handle:
                    handle.write(data)
            else:
                sys.stdout.buffer.write(data)
        for error in summary.errors:
            self.stderr.write(f"数据问题：{error.message}")
        if summary.errors:
            raise CommandError(f"有 {len(summary.errors)} 条数据问题，汇总表不准确，请先更正。")
