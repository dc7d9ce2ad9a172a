import json
import sys

from django.core.management.base import BaseCommand

from reports.sheet import SheetFormatError, read_summary


class Command(BaseCommand):
    help = "按汇总表的约束规则检查一个 xlsx 文件。退出码：0 通过，1 有违反规则或单元格错误，2 文件无法识别。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="汇总表 .xlsx 文件")
        parser.add_argument("--format", choices=["json", "text"], default="json")

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                data = handle.read()
            parsed = read_summary(data)
        except (OSError, SheetFormatError) as exc:
            message = str(exc) if isinstance(exc, SheetFormatError) else f"无法打开文件：{exc}"
            if options["format"] == "json":
                self.stdout.write(
                    json.dumps(
                        {
                            "ok": False,
                            "violations": [],
                            "errors": [{"cell": "", "message": message}],
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                self.stdout.write(f"无法识别：{message}")
            sys.exit(2)
        violations = parsed.violations
        ok = not violations and not parsed.errors
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "ok": ok,
                        "violations": [v.as_dict() for v in violations],
                        "errors": [e.as_dict() for e in parsed.errors],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            rows = len(parsed.rows) + (1 if parsed.total else 0)
            if ok:
                self.stdout.write(f"检查通过：共 {rows} 行，全部符合约束规则。")
            for error in parsed.errors:
                self.stdout.write(f"单元格错误 {error.message}")
            for violation in violations:
                self.stdout.write(f"违反规则 {violation.rule}：{violation.message}")
            if not ok:
                self.stdout.write(
                    f"共 {len(parsed.errors)} 个单元格错误，{len(violations)} 处违反规则。"
                )
        if not ok:
            sys.exit(1)
