"""The Content-Security-Policy (issue 16, finding 6): one strict policy on every page, and no
inline script, event handler, ``javascript:`` URL or inline style left for it to block —
checked in every template and on every page each role can reach by following links."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from core.web.csp import tile_sources
from tests.config.test_api_resources import build_world

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "worker-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# The admin only: third-party admin templates carry a few inline style attributes.
ADMIN_POLICY = {**POLICY, "style-src": "'self' 'unsafe-inline'"}


def policy(response) -> dict[str, str] | None:
    """The response's policy as {directive: sources} (django-csp's order is not fixed)."""
    header = response.get("Content-Security-Policy")
    if header is None:
        return None
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


class Inline(HTMLParser):
    """What a strict policy blocks in a page: inline scripts (a JSON data block is fine: it
    is never run), event handler attributes, ``javascript:`` URLs, inline styles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
            if name == "style":
                self.found.append(f"style= on <{tag}> at line {self.getpos()[0]}")
            url = (value or "").strip().lower()
            if name in {"href", "src", "action", "formaction"} and url.startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")


def inline_parts(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_policy_header(client, users):
    client.force_login(users.county)
    assert policy(client.get(reverse("home"))) == POLICY
    # Public pages and the login page carry it too.
    client.logout()
    assert policy(client.get(reverse("login"))) == POLICY
    assert policy(client.get(reverse("reports:verify"))) == POLICY


def test_the_checker_finds_what_the_policy_would_block():
    html = (
        '<script>alert(1)</script><script src="/x.js"></script>'
        '<script type="application/json">{"a": 1}</script>'
        '<button onclick="go()">x</button><a href="javascript:go()">y</a>'
        '<span style="width: 3%"></span><style>p{}</style>'
    )
    found = inline_parts(html)
    assert len(found) == 5, found


def test_no_template_has_inline_script_handler_or_style():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        found = inline_parts(path.read_text(encoding="utf-8"))
        if found:
            problems[name] = found
    assert problems == {}


@pytest.mark.parametrize(
    ("url", "subdomains", "sources"),
    [
        ("", [], []),
        ("/tiles/{z}/{x}/{y}.png", [], []),
        (
            "https://tile.example.cn/{z}/{x}/{y}.png",
            [],
            ["https://tile.example.cn"],
        ),
        (
            "https://{s}.tile.example.cn:8443/{z}/{x}/{y}.png",
            [],
            [
                "https://a.tile.example.cn:8443",
                "https://b.tile.example.cn:8443",
                "https://c.tile.example.cn:8443",
            ],
        ),
        (
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}",
            ["0", "1"],
            ["https://t0.tianditu.gov.cn", "https://t1.tianditu.gov.cn"],
        ),
        ("//tiles.example.cn/{z}/{x}/{y}.png", [], ["https://tiles.example.cn"]),
    ],
)
def test_the_map_tile_hosts_are_allowed_images(url, subdomains, sources):
    assert tile_sources(url, subdomains) == sources


# Every page a role reaches ---------------------------------------------------------------

SKIP = re.compile(
    r"^/(static|media)/|^/api/(?!docs/$)|^/accounts/logout|export|xlsx|download|/file/|/photo"
)
MAX_PAGES = 150


def links(html: str) -> set[str]:
    found = set()
    for href in re.findall(r'href="([^"]+)"', html):
        parts = urlsplit(href.replace("&amp;", "&"))
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        if not SKIP.search(parts.path):
            found.add(parts.path)
    return found


def shape(path: str) -> str:
    """Pages that differ only by ids are one page here (/households/1/ ~ /households/2/)."""
    return re.sub(r"/\d+(?=/)", "/N", path)


def crawl(client, *starts: str) -> dict[str, list[str]]:
    """Every page reachable from ``starts`` by links (paths, no query strings; one object's
    page per kind), with what a strict policy would block on it; at most MAX_PAGES pages."""
    seen, shapes, todo, problems = set(), set(), list(starts), {}
    while todo and len(seen) < MAX_PAGES:
        url = todo.pop(0)
        if url in seen or shape(url) in shapes:
            continue
        seen.add(url)
        shapes.add(shape(url))
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        issues = []
        admin = url.startswith("/admin/")
        if policy(response) != (ADMIN_POLICY if admin else POLICY):
            issues.append(f"policy {policy(response)}")
        if "no-store" not in response.get("Cache-Control", ""):
            issues.append("no Cache-Control: no-store")
        issues += [i for i in inline_parts(html) if not (admin and i.startswith("style="))]
        if issues:
            problems[url] = issues
        todo += sorted(links(html) - seen)
    return {"pages": sorted(seen), "problems": problems}


@pytest.mark.parametrize("who", ["surveyor", "township", "county", "inspector"])
def test_every_page_of_every_role_runs_under_the_policy(client, tree, users, register, who):
    build_world(tree, users, register)
    client.force_login(getattr(users, who))
    # The pages the service worker keeps for the surveyor, too (no link leads to them).
    result = crawl(client, reverse("home"), reverse("offline"), reverse("surveys:offline-inspect"))
    assert result["problems"] == {}
    assert len(result["pages"]) > 25, result["pages"]


def test_the_admin_and_the_api_docs_run_under_the_policy(client, tree, users, register):
    from tests.factories import UserFactory

    build_world(tree, users, register)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    result = crawl(client, "/admin/")
    assert result["problems"] == {}
    assert len(result["pages"]) > 20, result["pages"]
    docs = crawl(client, reverse("api-docs"))
    assert docs["problems"] == {}
