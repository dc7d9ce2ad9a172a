from django.conf import settings
from django.core.management.base import BaseCommand

from core.logs import quiet_unless_verbose
from portal.demo import seed_demo
from toilets.demo import DEMO_PASSWORD

SITE = "http://127.0.0.1:8000"  # where ``make run`` serves


def public_base() -> str:
    """Where a plate's QR code points: PUBLIC_BASE_URL when set, else the local server."""
    return settings.PUBLIC_BASE_URL or SITE


class Command(BaseCommand):
    help = "载入演示县（4 个乡镇、16 个行政村、农户和厕所、各角色账号）。可重复运行。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--households", type=int, default=600, help="农户数量（默认 600，基准测试可放大）"
        )

    def handle(self, *args, households: int, verbosity: int = 1, **options):
        with quiet_unless_verbose(verbosity):
            result = seed_demo(households=households)
        self.stdout.write(
            f"演示县已就绪：新增农户 {result.households_created} 户，新增厕所 {result.toilets_created} 个。"
        )
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
        for role, username, region in result.logins:
            self.stdout.write(f"  {role:<8} {username:<12} {region}")
        self.stdout.write(f"\n打开 {SITE}/ 登录。")
        for what, path in result.pages:
            self.stdout.write(f"{what}：{public_base()}{path}")
