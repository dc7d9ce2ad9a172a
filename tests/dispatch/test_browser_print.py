"""The printed briefing in real headless Chromium: a county of twenty-two townships with
four- and five-digit figures and the leads' columns still prints on one landscape A4 page,
and nothing runs past the page's printable width."""

import copy
import re

import pytest

from tests.browser import log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A4 landscape less the print CSS's 10 mm margins, in CSS pixels (96 per inch).
PRINTABLE_WIDTH_PX = int((297 - 20) / 25.4 * 96)
TOWNSHIPS = 22  # with ties and changes on every row (one line each in print)


def big_briefing(users, tree, survey):
    from dispatch.models import Briefing
    from dispatch.services import generate_briefing

    model = generate_briefing(actor=users.county, county=tree.county, kind="week")
    data = copy.deepcopy(model.data)
    row = data["rows"][0]
    big = {
        **row,
        **{key: 12345 for key in ("registered", "surveyed", "problems")},
        **{key: 1234 for key in ("surveyed_period", "planned", "rectified", "closed")},
        **{key: 999 for key in ("found_period", "planned_period", "rectified_period")},
        **{"closed_period": 999, "unfinished": 11111, "overdue": 888},
        **{"leads_period": 123, "leads_answered_period": 99, "leads_overdue": 45},
        **{"work_problems": 12, "work_problems_closed": 9, "work_problems_overdue": 3},
        "score": "-1234.56",
        "components": {"coverage": "100.00", "closeout": "80.00", "overdue": "-1332.00",
                       "discrepancy": "-5.00"},
        "coverage_pct": "100.0",
        "closeout_pct": "10.0",
        "discrepancy_rate": "12.5",
        "tied": True,
    }  # fmt: skip
    rows, change = [], {}
    for n in range(TOWNSHIPS):
        code = f"4507021{n:02d}000"
        rows.append({**big, "code": code, "name": f"第{n + 1}示范街道", "place": n + 1})
        change[code] = {"previous_place": n + 3, "places": -2, "arrow": "▼", "score": "-1.00",
                        "closed": 120, "surveyed": 5, "overdue": 3, "leads_period": 10,
                        "leads_answered_period": -4, "leads_overdue": 12}  # fmt: skip
    data.update(rows=rows, change=change)
    return Briefing.objects.create(
        county=tree.county,
        round=survey,
        kind="week",
        period_start=model.period_start,
        period_end=model.period_end,
        edition=model.edition + 1,
        cutoff=model.cutoff,
        generated_at=model.generated_at,
        data=data,
        formula=model.formula,
    )


def test_a_big_county_briefing_prints_on_one_a4_page(live_server, users, tree, register, survey):
    briefing = big_briefing(users, tree, survey)
    with phone_page() as page:
        log_in(page, live_server, users.county.username)
        page.set_viewport_size({"width": PRINTABLE_WIDTH_PX, "height": 800})
        page.goto(f"{live_server.url}/dispatch/{briefing.pk}/")
        assert page.locator("#leads-head").is_visible()
        page.emulate_media(media="print")
        table = page.evaluate(
            "() => { const t = document.getElementById('ranking');"
            " return [t.getBoundingClientRect().right, document.documentElement.scrollWidth]; }"
        )
        assert max(table) <= PRINTABLE_WIDTH_PX, table
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1
