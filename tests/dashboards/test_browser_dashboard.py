"""The dashboard in real headless Chromium, on a desktop (1280 px) and a phone (360 px):
every chart drawn (a canvas or an svg in each container), no console errors, the map drawn
without any tile layer configured (and no tile requested), tables scrolling inside their
box on a phone, every table shown for print. Screenshots for the county guide."""

from urllib.parse import urlsplit

import pytest

from tests.browser import PHONE, fits_a_phone, log_in, phone_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def page(live_server):
    with phone_page() as page:
        page.problems = []
        page.on(
            "console",
            lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
        page.foreign = []
        page.on(
            "request",
            lambda r: (
                page.foreign.append(r.url)
                if urlsplit(r.url).hostname not in ("localhost", "127.0.0.1")
                and r.url.startswith("http")
                else None
            ),
        )
        yield page


@pytest.fixture
def placed(tree, ledger):
    from toilets.models import Toilet

    for village, lat, lon in ((tree.v1, 21.95, 108.62), (tree.v3, 21.88, 108.71)):
        for i, toilet in enumerate(Toilet.objects.filter(village=village)):
            Toilet.objects.filter(pk=toilet.pk).update(
                latitude=lat + i * 0.002, longitude=lon + i * 0.002
            )


def open_dashboard(page, live_server, viewport):
    page.set_viewport_size(viewport)
    log_in(page, live_server, "county")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("[data-chart] canvas")
    page.wait_for_selector(".dash-map path.leaflet-interactive")


def drawn(page) -> dict:
    return page.evaluate(
        """(() => {
          const out = {};
          document.querySelectorAll('[data-chart], [data-map]').forEach(el => {
            const key = el.dataset.chart || el.dataset.map;
            // A chart's own canvas; the map's svg overlay is padded past its box by design.
            const c = el.querySelector('canvas, svg');
            const box = el.dataset.map ? el : c;
            out[key] = c ? Math.round(box.getBoundingClientRect().width) : 0;
          });
          return out;
        })()"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_chart_and_the_map_render(page, live_server, users, survey, placed, viewport):
    from dashboards.charts import CHARTS

    open_dashboard(page, live_server, viewport)
    widths = drawn(page)
    assert set(widths) == set(CHARTS)
    assert all(w > 0 for w in widths.values()), widths
    assert all(w <= viewport["width"] for w in widths.values()), widths
    # The map: the villages with their labels, on no tiles at all.
    assert page.locator(".dash-map .leaflet-tile").count() == 0
    assert page.locator(".dash-map.no-tiles").count() == 1
    labels = page.locator(".dash-map .dash-label").all_inner_texts()
    assert any("沙埠村" in t for t in labels) and any("坪山村" in t for t in labels)
    assert page.foreign == []
    name = "desktop" if viewport is DESKTOP else "phone"
    if viewport is PHONE:
        assert fits_a_phone(page)
        # A wide table scrolls inside its own box.
        page.click("#chart-activity summary")
        box = page.evaluate(
            "(() => { const w = document.querySelector('#chart-activity .table-scroll');"
            " return [w.scrollWidth, w.clientWidth]; })()"
        )
        assert box[0] > box[1]
        assert fits_a_phone(page)
        page.click("#chart-activity summary")
    screenshot(page, f"dashboard-{name}", full_page=viewport is PHONE)
    if viewport is DESKTOP:
        screenshot(page.locator("#chart-map"), "dashboard-map")
        page.locator("#chart-funnel").scroll_into_view_if_needed()
        page.click("#chart-funnel summary")
        screenshot(page.locator("#chart-funnel"), "dashboard-funnel-table")
    assert page.problems == []


def test_print_shows_every_table(page, live_server, users, survey, placed):
    open_dashboard(page, live_server, DESKTOP)
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate(
        "Array.from(document.querySelectorAll('details.dash-table')).every(d => d.open)"
    )
    assert not page.locator(".dash-filters").is_visible()
    assert all(w > 0 for w in drawn(page).values())
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate(
        "Array.from(document.querySelectorAll('details.dash-table')).every(d => !d.open)"
    )
    assert page.problems == []


def test_a_township_drills_from_the_table_and_the_map_has_no_names_for_an_inspector(
    page, live_server, users, survey, placed
):
    log_in(page, live_server, "inspector")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector(".dash-map path.leaflet-interactive")
    page.click("#chart-coverage summary")
    page.click("#chart-coverage table >> text=沙埠镇")
    page.wait_for_url("**/dashboard/?*region=450702100000*")
    page.wait_for_selector("[data-chart] canvas")
    assert "工作看板 · 沙埠镇" in page.inner_text("h1")
    assert "王建国" not in page.content()
    assert page.problems == []


def test_tooltips_show_under_the_content_security_policy(page, live_server, users, survey, placed):
    """Hovering the charts and a map marker shows their tooltips without anything refused by
    the Content-Security-Policy (no inline styles: an HTML tooltip's styled markup would be;
    phone_page fails the test on any refusal)."""
    open_dashboard(page, live_server, DESKTOP)
    tooltips = 0
    for chart in page.query_selector_all("[data-chart]"):
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        for fx, fy in ((0.5, 0.5), (0.3, 0.6), (0.7, 0.4)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.wait_for_timeout(120)
        tooltips += page.evaluate(
            "el => echarts.getInstanceByDom(el).getOption().tooltip.length", chart
        )
    assert tooltips > 0
    marker = page.query_selector(".dash-map path.leaflet-interactive")
    marker.scroll_into_view_if_needed()
    marker.hover(force=True)
    page.wait_for_selector(".leaflet-tooltip")
    assert page.problems == []
