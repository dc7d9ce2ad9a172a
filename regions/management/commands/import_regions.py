from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regions.services import RegionImportError, import_regions


class Command(BaseCommand):
    help = "导入统计用区划代码（CSV：区划代码,名称；UTF-8 或 GBK）。文件有任何错误则整体不导入。"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV 文件路径")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不保存")

    def handle(self, *args, file: Path, dry_run: bool, **options):
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from exc
        try:
            result = import_regions(raw, dry_run=dry_run)
        except RegionImportError as exc:
            for message in exc.errors:
                self.stderr.write(message)
            raise CommandError(f"区划文件有 {len(exc.errors)} 处错误，未导入任何数据。") from exc
        prefix = "检查通过（未保存）" if dry_run else "导入完成"
        self.stdout.write(
            f"{prefix}：新增 {result.created} 个，更新 {result.updated} 个，"
            f"未变 {result.unchanged} 个。"
        )
