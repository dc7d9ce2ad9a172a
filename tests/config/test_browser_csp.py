"""Pages whose scripts come from elsewhere, in real headless Chromium under the
Content-Security-Policy (phone_page fails a test on anything the policy refused): Swagger UI,
the admin, and the small behaviours moved out of inline handlers (confirm, print, select)."""

import pytest

from tests.browser import log_in, phone_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    with phone_page() as page:
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page


def test_swagger_ui_runs_under_the_policy(page, live_server, users):
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "/api/households/" in page.inner_text(".swagger-ui")
    assert page.errors == []


def test_the_admin_runs_under_the_policy(page, live_server, users, register):
    from tests.factories import PASSWORD, UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/toilets/household/{register.h1.pk}/change/")
    page.wait_for_selector("#household_form")
    page.goto(f"{live_server.url}/admin/toilets/household/{register.h1.pk}/history/")
    page.wait_for_selector("#content")
    assert page.errors == []


def test_a_confirmation_asked_by_data_confirm(page, live_server, users, tree):
    from surveys.models import SurveyRound
    from tests.factories import SurveyRoundFactory

    survey = SurveyRoundFactory(county=tree.county)
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/surveys/rounds/{survey.pk}/")
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("button:has-text('结束本轮')")
    page.wait_for_timeout(300)
    assert asked == ["结束后各村不能再录入，确定结束本轮？"]
    survey.refresh_from_db()
    assert survey.status == "open"  # dismissed: nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('结束本轮')")
    page.wait_for_load_state()
    page.wait_for_timeout(300)
    assert SurveyRound.objects.get(pk=survey.pk).status != "open"
    assert page.errors == []


def test_the_new_api_key_is_selected_when_clicked(page, live_server, users):
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/account/tokens/")
    page.fill("#id_name", "省级平台对接")
    page.click("button:has-text('创建令牌')")
    page.wait_for_selector("#new-key")
    page.click("#new-key")
    selected = page.evaluate(
        "(() => { const i = document.getElementById('new-key');"
        " return i.value.slice(i.selectionStart, i.selectionEnd); })()"
    )
    assert selected.startswith("tl_") and selected == page.input_value("#new-key")
