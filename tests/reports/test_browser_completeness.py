"""The township's submission page in headless Chromium: the 33-column table takes the whole
width of a desktop screen without the page scrolling sideways; on a phone the page (coverage,
exception rows, table) still fits and the table scrolls in its own box."""

import pytest

from tests.browser import PHONE, fits_a_phone, log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1600, "height": 900}


@pytest.fixture
def page(live_server):
    with phone_page() as page:
        yield page


@pytest.fixture
def survey(tree, users):
    from surveys.choices import InspectionStatus
    from tests.factories import (
        HouseholdFactory,
        InspectionFactory,
        SurveyRoundFactory,
        ToiletFactory,
    )
    from tests.reports.complete import close

    survey = SurveyRoundFactory(county=tree.county, name="2022年摸排")
    for village in (tree.v1, tree.v2):
        InspectionFactory(
            round=survey,
            toilet=ToiletFactory(household=HouseholdFactory(village=village)),
            status=InspectionStatus.VERIFIED,
        )
    ToiletFactory(household=HouseholdFactory(village=tree.v1))  # not inspected
    close(survey)
    return survey


def test_the_table_is_full_width_on_a_desktop_and_the_page_fits_a_phone(
    page, live_server, users, tree, survey
):
    log_in(page, live_server, "township")
    page.goto(f"{live_server.url}/reports/rounds/{survey.pk}/townships/{tree.t1.code}/")
    assert page.locator(f"[data-exception='{tree.v1.code}']").count() == 1
    assert fits_a_phone(page)
    box = page.evaluate(
        "(() => { const w = document.querySelector('.sheet-wrap');"
        " return [w.scrollWidth, w.clientWidth]; })()"
    )
    assert box[0] > box[1] and box[1] < PHONE["width"]

    page.set_viewport_size(DESKTOP)
    width = page.evaluate("document.querySelector('.sheet-wrap').getBoundingClientRect().width")
    page_width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
    assert width > page_width and width > DESKTOP["width"] - 80
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    left = page.evaluate("document.querySelector('.sheet-wrap').getBoundingClientRect().left")
    assert 0 < left < 40
