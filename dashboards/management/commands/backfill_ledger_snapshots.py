import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.snapshots import backfill


class Command(BaseCommand):
    help = "从整改台账日志补录各乡镇每日台账记录（工作看板的整改进度趋势）。"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="补录最近多少天（含今天）")
        parser.add_argument("--start", help="开始日期 YYYY-MM-DD（代替 --days）")
        parser.add_argument("--end", help="结束日期 YYYY-MM-DD（默认今天）")

    def handle(self, *args, **options):
        try:
            end = (
                datetime.date.fromisoformat(options["end"])
                if options["end"]
                else timezone.localdate()
            )
            start = (
                datetime.date.fromisoformat(options["start"])
                if options["start"]
                else end - datetime.timedelta(days=max(options["days"], 1) - 1)
            )
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD：{exc}") from exc
        if start > end:
            raise CommandError("开始日期晚于结束日期。")
        written = backfill(start, end)
        self.stdout.write(f"已补录 {written} 条（{start} 至 {end}）。")
