"""`python manage.py import_ledger FILE.xlsx --round NAME [--region COUNTY_CODE] [--dry-run]
[--user NAME]`"""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from imports.engine import import_ledger
from imports.results import COUNT_LABELS, ImportFileError
from regions.models import Region


class Command(BaseCommand):
    help = (
        "Import a county's Excel survey ledger (one row per toilet). All-or-nothing: any bad "
        "row is reported with its row number and column and nothing is saved. Exit 0 when "
        "imported (or, with --dry-run, when every row is good), 1 when rows are bad, 2 when "
        "the file cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx ledger")
        parser.add_argument("--round", required=True, dest="round_name", help="survey round name")
        parser.add_argument(
            "--region",
            metavar="COUNTY_CODE",
            help="the county imported into (its 6- or 12-digit code): its own value aliases "
            "apply, villages given by name are looked up in it, rows of another county are "
            "errors; default: the --user's county, else the rows' county",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and report, save nothing"
        )
        parser.add_argument(
            "--user",
            help="import as this user (limited to the user's region); default: no limit",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options):
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"用户 {options['user']} 不存在。")
        county = self._county(options["region"]) if options["region"] else None
        try:
            with open(options["file"], "rb") as source:
                result = import_ledger(
                    source,
                    round_name=options["round_name"],
                    actor=actor,
                    dry_run=options["dry_run"],
                    progress=self._progress if options["verbosity"] > 1 else None,
                    county=county,
                )
        except FileNotFoundError as exc:
            raise CommandError(f"找不到文件：{options['file']}") from exc
        except ImportFileError as exc:
            self._fail(options, {"ok": False, "saved": False, "file_error": exc.message})
            sys.exit(2)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc

        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._text(result)
        if not result.ok:
            sys.exit(1)

    def _county(self, code: str) -> Region:
        code = code.strip()
        if len(code) == 6 and code.isdigit():
            code = code.ljust(12, "0")
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise CommandError(f"区划代码 {code} 不存在。")
        return region

    def _progress(self, done, total, message):
        self.stderr.write(f"{message}")

    def _fail(self, options, payload):
        if options["format"] == "json":
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            self.stderr.write(f"无法导入：{payload['file_error']}")

    def _text(self, result):
        if not result.ok:
            self.stderr.write(f"有 {len(result.errors)} 处错误，未导入任何数据：")
            for error in result.errors:
                self.stderr.write(f"  {error}")
            return
        head = "检查通过（试运行，未保存）" if result.dry_run else "导入完成"
        round_note = "（新建）" if result.round_created else ""
        self.stdout.write(f"{head}：轮次“{result.round_name}”{round_note}")
        for key, label in COUNT_LABELS.items():
            self.stdout.write(f"  {label}：{result.counts[key]}")
