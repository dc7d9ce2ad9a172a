"""Reference data the survey app needs in every database: the eight problem categories and
the 2022 summary template. Loaded after every migrate (and after a test flush), idempotently."""

from .choices import PROBLEM_CATEGORIES

TEMPLATE_2022_NAME = "2022年汇总表"
TEMPLATE_2022_BUCKETS = [
    {"label": "2013以前", "from": None, "to": 2012},
    {"label": "2013至2016", "from": 2013, "to": 2016},
    {"label": "2017", "from": 2017, "to": 2017},
    {"label": "2018", "from": 2018, "to": 2018},
    {"label": "2019", "from": 2019, "to": 2019},
    {"label": "2020", "from": 2020, "to": 2020},
    {"label": "2021", "from": 2021, "to": 2021},
]


def ensure_reference_data(**kwargs):
    from .models import ProblemCategory, ReportTemplate

    for code, name, column in PROBLEM_CATEGORIES:
        ProblemCategory.objects.update_or_create(
            code=code, defaults={"name": name, "column": column}
        )
    if not ReportTemplate.objects.filter(is_default=True).exists():
        ReportTemplate.objects.update_or_create(
            name=TEMPLATE_2022_NAME,
            defaults={"year_buckets": TEMPLATE_2022_BUCKETS, "is_default": True},
        )
