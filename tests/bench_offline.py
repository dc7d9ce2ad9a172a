"""The inspection form on a phone (``python -m tests.bench --only offline``), issue 13 "Quality".

In the bench's throw-away database: one village of ~200 households (a toilet each), a
surveyor of the village and an open round; a live server (Django's ``LiveServerThread``,
static files through ``_StaticFilesHandler``, uncompressed as in development) behind a
counting TCP relay, and Debian's Chromium through Playwright on a 360 × 740 phone screen
(zh-CN). Measured:

1. bytes on a first load: a context where service workers are blocked, logged in, the HTTP
   cache cleared (CDP ``Network.clearBrowserCache``), then one toilet's form; every response's
   ``encodedDataLength`` (CDP ``Network.loadingFinished``), per resource;
2. bytes on a cached load: a context where the service worker is installed and controls the
   page and one form was opened already; ANOTHER toilet's form. What the page received
   (CDP, with ``response.fromServiceWorker``) and what crossed the line (the relay counts every
   byte the server sent, the service worker's own fetches included: CDP on the page does not
   see those);
3. time to interactive (navigation start → ``performance.mark("form-ready")`` in inspect.js)
   under Chromium's network emulation (CDP ``Network.emulateNetworkConditions``), first and
   cached load, with the same run's reference: the form's HTML alone fetched from the page
   (``fetch(location.href, {cache: "no-store"})``) under the same emulation.
"""

import gzip
import os
import platform
import statistics
import time
from urllib.parse import urlsplit

SECTION = "## Inspection form on a phone"
HOUSEHOLDS = 200
RUNS = 3
KB = 1000
# Chromium's network emulation takes bytes per second; these are the base figures of DevTools'
# presets (DevTools' own "Slow 3G" multiplies the latency by 5 and the throughputs by 0.8;
# "Fast 3G" — now "3G" — the latency by 3.75 and the throughputs by 0.9).
PROFILES = [
    ("Slow 3G", 400, 400_000, 400_000),
    ("Fast 3G", 150, 1_600_000, 750_000),
    ("DevTools' Slow 3G preset", 2000, 320_000, 320_000),
]
BUDGET_FIRST_BYTES, BUDGET_CACHED_BYTES = 150 * KB, 30 * KB
BUDGET_FIRST_TTI, BUDGET_CACHED_TTI = 5000, 2000


class NetworkLog:
    """The CDP Network events of one page, per request."""

    def __init__(self, session):
        self.session = session
        self.requests = {}
        for name in ("requestWillBeSent", "responseReceived", "dataReceived", "loadingFinished"):
            session.on(f"Network.{name}", getattr(self, name))
        session.send("Network.enable")

    def clear(self):
        self.requests = {}

    def _entry(self, request_id):
        return self.requests.setdefault(
            request_id,
            {"url": "", "encoded": 0, "decoded": 0, "sw": False, "cache": False, "done": False},
        )

    def requestWillBeSent(self, event):
        self._entry(event["requestId"])["url"] = event["request"]["url"]

    def responseReceived(self, event):
        entry = self._entry(event["requestId"])
        response = event["response"]
        entry["url"] = response["url"]
        entry["sw"] = bool(response.get("fromServiceWorker"))
        entry["cache"] = bool(response.get("fromDiskCache") or response.get("fromPrefetchCache"))

    def dataReceived(self, event):
        self._entry(event["requestId"])["decoded"] += event["dataLength"]

    def loadingFinished(self, event):
        entry = self._entry(event["requestId"])
        entry["encoded"] = event["encodedDataLength"]
        entry["done"] = True

    def rows(self):
        rows = []
        for request_id, entry in self.requests.items():
            if not entry["done"] or not entry["url"].startswith("http"):
                continue
            split = urlsplit(entry["url"])
            path = split.path + (f"?{split.query}" if split.query else "")
            source = (
                "service worker" if entry["sw"] else "disk cache" if entry["cache"] else "network"
            )
            rows.append({**entry, "id": request_id, "path": path, "source": source})
        return rows


def _gzip_size(session, request_id):
    import base64

    try:
        body = session.send("Network.getResponseBody", {"requestId": request_id})
    except Exception:  # the body may be gone already
        return None
    data = base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"].encode()
    return len(gzip.compress(data, 6))


def _data():
    from regions.choices import Level, Role
    from regions.models import Region
    from tests.factories import (
        HouseholdFactory,
        SurveyRoundFactory,
        ToiletFactory,
        UserFactory,
        valid_id_number,
    )

    def region(code, name, level, parent):
        return Region.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )[0]

    province = region("440000000000", "广东省", Level.PROVINCE, None)
    city = region("440800000000", "湛江市", Level.CITY, province)
    county = region("440823000000", "遂溪县", Level.COUNTY, city)
    township = region("440823100000", "遂城镇", Level.TOWNSHIP, county)
    village = region("440823100201", "东门村", Level.VILLAGE, township)
    toilets = []
    for i in range(HOUSEHOLDS):
        household = HouseholdFactory(
            village=village,
            head_name=f"户主{i + 1}",
            group_name=f"第{i % 8 + 1}村民小组",
            id_number=valid_id_number(i, birth=f"19{60 + i // 1000:02d}0101", area="440823"),
            county_code="440823",
        )
        toilets.append(ToiletFactory(household=household, build_year=2010 + i % 12))
    surveyor = UserFactory(username="bench_phone_surveyor", role=(Role.SURVEYOR, village))
    survey = SurveyRoundFactory(county=county, name="2026年摸排")
    return surveyor, survey, toilets


def _log_in(page, base, username):
    from tests.factories import PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


FORM_READY = "performance.getEntriesByName('form-ready').length > 0"
HTML_ALONE = """async () => {
  const t0 = performance.now();
  const response = await fetch(location.href, {cache: "no-store", credentials: "same-origin"});
  const text = await response.text();
  return [performance.now() - t0, text.length, response.status];
}"""


def _open_form(page, url):
    page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_function(FORM_READY, timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)
    page.wait_for_timeout(300)
    tti = page.evaluate("performance.getEntriesByName('form-ready')[0].startTime")
    return tti


def _throttle(session, profile):
    if profile is None:
        session.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        return
    _name, latency, down, up = profile
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency,
            "downloadThroughput": down / 8,
            "uploadThroughput": up / 8,
        },
    )


def _measure(base, relay, surveyor, survey, toilets):
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, PHONE, chromium_path

    path = chromium_path()
    if path is None:
        raise SystemExit(
            "The offline bench needs Debian's chromium (apt-get install -y chromium); none found."
        )
    form = f"{base}/surveys/rounds/{survey.pk}/toilets/{{}}/inspect/"
    spare = iter(toilets[2:])
    results = {"tti": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        results["browser"] = browser.version

        # 1. First load: no service worker, the HTTP cache empty but for the session cookie.
        context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers="block")
        page = context.new_page()
        page.set_default_timeout(30_000)
        session = context.new_cdp_session(page)
        log = NetworkLog(session)
        _log_in(page, base, surveyor.username)
        session.send("Network.clearBrowserCache")
        page.goto("about:blank")
        log.clear()
        relay.reset()
        _open_form(page, form.format(toilets[0].pk))
        rows = log.rows()
        for row in rows:
            row["gzip"] = _gzip_size(session, row["id"])
        results["first"] = {"rows": rows, "by_path": dict(relay.by_path), "wire": relay.reset()}

        for profile in PROFILES:
            samples = []
            for _ in range(RUNS):
                session.send("Network.clearBrowserCache")
                page.goto("about:blank")
                _throttle(session, profile)
                tti = _open_form(page, form.format(next(spare).pk))
                html_ms, _length, status = page.evaluate(HTML_ALONE)
                assert status == 200, status
                _throttle(session, None)
                samples.append((tti, html_ms))
            results["tti"][(profile[0], "first")] = samples
        context.close()

        # 2. Cached load: the service worker installed, in control, one form opened already.
        context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers="allow")
        page = context.new_page()
        page.set_default_timeout(30_000)
        session = context.new_cdp_session(page)
        log = NetworkLog(session)
        _log_in(page, base, surveyor.username)
        page.goto(f"{base}/surveys/worklist/?round={survey.pk}")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        _open_form(page, form.format(toilets[0].pk))
        page.goto("about:blank")
        log.clear()
        relay.reset()
        _open_form(page, form.format(toilets[1].pk))
        controlled = page.evaluate("navigator.serviceWorker.controller !== null")
        results["cached"] = {
            "rows": log.rows(),
            "by_path": dict(relay.by_path),
            "wire": relay.reset(),
            "controlled": controlled,
        }

        for profile in PROFILES:
            samples = []
            for _ in range(RUNS):
                page.goto("about:blank")
                _throttle(session, profile)
                tti = _open_form(page, form.format(next(spare).pk))
                html_ms, _length, status = page.evaluate(HTML_ALONE)
                assert status == 200, status
                _throttle(session, None)
                samples.append((tti, html_ms))
            results["tti"][(profile[0], "cached")] = samples
        context.close()
        browser.close()
    return results


def offline_section(args, command: str = "python -m tests.bench --only offline") -> str:
    from django.db import connection, connections
    from django.test.testcases import LiveServerThread, _StaticFilesHandler

    # Playwright's sync API runs an event loop in this thread.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    surveyor, survey, toilets = _data()
    shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
    override = {"default": connections["default"]} if shared else None
    if shared:
        connection.inc_thread_sharing()
    server = LiveServerThread(
        host="127.0.0.1",
        static_handler=_StaticFilesHandler,
        connections_override=override,
        port=0,
    )
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    from tests.browser import Line

    relay = Line(f"http://127.0.0.1:{server.port}")
    try:
        results = _measure(relay.url, relay, surveyor, survey, toilets)
    finally:
        relay.close()
        server.terminate()
        if shared:
            connection.dec_thread_sharing()
        else:
            connections.close_all()
    text = _report(results, command, connection.vendor, len(toilets))
    print(text)
    return text


def _kb(n):
    return f"{n / KB:.1f}"


def _report(results, command, vendor, n_toilets):
    first, cached = results["first"], results["cached"]
    first_bytes = sum(r["encoded"] for r in first["rows"])
    first_gzip = sum(r["gzip"] or r["encoded"] for r in first["rows"])
    cached_net = [r for r in cached["rows"] if r["source"] == "network"]
    cached_net_bytes = sum(r["encoded"] for r in cached_net)
    cached_used = sum(r["decoded"] for r in cached["rows"])
    cached_wire = cached["wire"]

    lines = [
        SECTION,
        "",
        f"Command: `{command}` (database: {vendor}).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Debian Chromium {results['browser']} headless through "
        f"Playwright, 360 × 740 screen, zh-CN; measured {time.strftime('%Y-%m-%d')}.",
        f"Data: one village of {n_toilets} household toilets, a surveyor of the village, an open "
        "round. Django's live server on 127.0.0.1 (static files uncompressed, as "
        "`_StaticFilesHandler` serves them in development; production's WhiteNoise serves them "
        "compressed), the browser going through a relay that counts every byte the server sends.",
        "",
        "### Bytes on a first load",
        "",
        "A fresh browser context with service workers blocked, logged in, the HTTP cache cleared "
        "(CDP `Network.clearBrowserCache`), then one toilet's form. Bytes are CDP's "
        "`encodedDataLength` (headers included); gzip is the body compressed at level 6 here, "
        "what a compressing server would send.",
        "",
        "| resource | bytes | body gzip -6 |",
        "|---|---:|---:|",
        *[
            f"| `{r['path']}` | {r['encoded']:,} | "
            f"{'' if r['gzip'] is None else format(r['gzip'], ',')} |"
            for r in first["rows"]
        ],
        f"| **total ({len(first['rows'])} requests)** | **{first_bytes:,}** | **{first_gzip:,}** |",
        "",
        f"The relay counted {first['wire']:,} bytes sent by the server for this navigation.",
        "",
        "### Bytes on a cached load",
        "",
        "A context where the service worker is installed and controls the page (worklist opened, "
        "`navigator.serviceWorker.controller` set, one form opened), then ANOTHER toilet's form. "
        "`network` bytes are CDP's `encodedDataLength` of responses not served by the service "
        "worker; `used` is the body bytes the page received from wherever they came.",
        "",
        "| resource | served by | network bytes | used bytes |",
        "|---|---|---:|---:|",
        *[
            f"| `{r['path']}` | {r['source']} | "
            f"{r['encoded'] if r['source'] == 'network' else 0:,} | {r['decoded']:,} |"
            for r in cached["rows"]
        ],
        f"| **total ({len(cached['rows'])} requests)** | | **{cached_net_bytes:,}** | "
        f"**{cached_used:,}** |",
        "",
        f"The page's own requests put {cached_net_bytes:,} bytes on the network. What crossed "
        "the line (the relay: the service worker's own fetches, which CDP on the page does not "
        "see, included):",
        "",
        "| request (seen by the relay) | bytes sent by the server |",
        "|---|---:|",
        *[f"| `{path}` | {n:,} |" for path, n in cached["by_path"].items()],
        f"| **total** | **{cached_wire:,}** |",
        "",
        "The service worker fetches a page from the network first (fresh data; the cached copy "
        "after 6 s without an answer), so the form's HTML crosses the line on every online "
        "load"
        + (
            "; on this navigation the browser also checked `/sw.js` and the scripts it imports "
            "for an update (it does so on a navigation now and then; the imports answer "
            "304 Not Modified). "
            if "/sw.js" in cached["by_path"]
            else " (the browser also checks `/sw.js` for an update on a navigation now and "
            "then, about 6 KB; not during this one). "
        )
        + "Service worker "
        f"in control: {'yes' if cached['controlled'] else 'NO'}.",
        "",
        "### Time to interactive on throttled profiles",
        "",
        "Chromium's network emulation (CDP `Network.emulateNetworkConditions` on the page) with:",
        "",
        *[
            f"- {name}: latency {latency} ms, {down / 1000:g} kbit/s down, {up / 1000:g} kbit/s up;"
            for name, latency, down, up in PROFILES
        ],
        "",
        'TTI: navigation start → `performance.mark("form-ready")` (inspect.js, once the form '
        "is filled in and listens for the save). HTML alone: the same run, the form's page "
        'fetched from the page (`fetch(location.href, {cache: "no-store"})`) under the same '
        f"emulation. {RUNS} runs each, each on a toilet not opened before; first load with the "
        "HTTP cache cleared before each run and no service worker; cached load in the context "
        "above.",
        "",
        "| profile | load | TTI best ms | TTI median ms | HTML alone median ms | TTI / HTML alone |",
        "|---|---|---:|---:|---:|---:|",
    ]
    verdicts = []
    for name, *_ in PROFILES:
        for load in ("first", "cached"):
            samples = results["tti"][(name, load)]
            ttis = [t for t, _h in samples]
            htmls = [h for _t, h in samples]
            tti, html = statistics.median(ttis), statistics.median(htmls)
            lines.append(
                f"| {name} | {load} | {min(ttis):.0f} | {tti:.0f} | {html:.0f} | {tti / html:.2f} |"
            )
            limit = BUDGET_FIRST_TTI if load == "first" else BUDGET_CACHED_TTI
            verdicts.append(
                f"TTI {load} on {name} ≤ {limit / 1000:g} s: "
                f"{'met' if tti <= limit else 'missed'} ({tti / 1000:.2f} s median"
                + (", the worker's page fetch unthrottled" if load == "cached" else "")
                + ")"
            )
    estimates = []
    for name, *_ in PROFILES:
        samples = results["tti"][(name, "cached")]
        tti = statistics.median(t for t, _h in samples)
        html = statistics.median(h for _t, h in samples)
        estimates.append((name, tti, html, tti + html))
    unthrottled = all(tti < html for _n, tti, html, _e in estimates)
    lines += [
        "",
        "Chromium's emulation applies to the page's own requests only: the service worker's "
        "fetches are not throttled"
        + (
            " — observed here: every cached TTI is shorter than fetching the HTML alone from the "
            "page, though the service worker fetches that same HTML from the network before "
            "answering. "
            if unthrottled
            else ". "
        )
        + "So the cached rows measure the phone's own work plus an unthrottled page fetch; on a "
        "real line of that profile the cached TTI would be about the cached TTI plus the HTML "
        "alone (the worker's fetch of the page): "
        + "; ".join(f"{name} ≈ {e / 1000:.2f} s" for name, _t, _h, e in estimates)
        + " (estimates, not measured). The first-load rows are throttled throughout (no "
        "service worker).",
    ]
    first_ok = first_bytes <= BUDGET_FIRST_BYTES
    cached_ok = cached_wire <= BUDGET_CACHED_BYTES
    lines += [
        "",
        "Budget: first load ≤ 150 KB over the network: "
        f"{'met' if first_ok else 'missed'} ({_kb(first_bytes)} KB uncompressed, "
        f"{_kb(first_gzip)} KB gzipped); cached load ≤ 30 KB over the network: "
        f"{'met' if cached_ok else 'missed'} ({_kb(cached_wire)} KB counted by the relay, "
        f"{_kb(cached_net_bytes)} KB by the page's own requests); " + "; ".join(verdicts) + ".",
        "(KB = 1,000 bytes.)",
        "",
    ]
    return "\n".join(lines)
