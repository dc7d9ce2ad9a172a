"""Schemathesis against the whole API schema, in-process.

Every operation is called with generated valid and invalid input, as a user whose region
holds a register, a ledger entry and one row of every side resource. The reads and the
county's writes (rounds, submissions) run as the county user; the other writes as the role
that may make them: the village surveyor (register, inspections, photos, the close-out
steps) and the township's staff (verification, flags, the close-out steps). Half of the generated ids are swapped for ids of real rows, so the answers
include the successful ones. Each example runs in a savepoint that is rolled back, so examples never see
each other's writes. Checks: no server error, and the answer conforms to the schema (status
code documented, content type documented, body valid against the documented schema).

``API_FUZZ_EXAMPLES`` sets the examples per operation (default 12); ``API_FUZZ_PATH`` (a
regular expression) limits the run to the matching paths while debugging.
"""

import os
import re

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.config.test_api_resources import build_world
from tests.factories import HouseholdFactory, ToiletFactory

# The writes each role runs (method, path regex); the county runs every read too.
ROLE_WRITES = {
    "county": [("POST", r"^/api/(rounds|submissions|token)/")],
    "township": [
        ("POST", r"^/api/inspections/\{id\}/(verify|return)/$"),
        ("POST", r"^/api/inspection-flags/"),
        ("POST", r"^/api/ledger/"),
    ],
    "surveyor": [
        ("POST|PUT|PATCH", r"^/api/(households|toilets|inspections)/(\{id\}/)?(photos/)?$"),
        ("POST", r"^/api/ledger/"),
    ],
}


def runs_as(who):
    def match(ctx):
        method, path = ctx.operation.method.upper(), ctx.operation.path
        if who == "county" and method == "GET":
            return True
        return any(
            re.fullmatch(methods, method) and re.search(paths, path)
            for methods, paths in ROLE_WRITES[who]
        )

    return match


EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz(db, settings, tree, users, register):
    """The data in scope, a token per user, and the real ids per collection."""
    settings.API_THROTTLE_RATES = {"user": None, "anon": None}
    cache.clear()
    world = build_world(tree, users, register)
    tokens = {
        who: Token.objects.create(user=getattr(users, who)).key
        for who in ("county", "township", "surveyor")
    }
    ids = {
        "households": register.h1.pk,
        "toilets": register.t1.pk,
        "rounds": world.survey.pk,
        "inspections": world.entry.opened_by_inspection_id,
        "inspection-flags": world.flag.pk,
        "spot-check-samples": world.sample.pk,
        "spot-check-items": world.item.pk,
        "reconciliation-notes": world.note.pk,
        "report-templates": world.survey.template_id,
        "ledger": world.entry.pk,
        "ledger-log": world.entry.log.first().pk,
        "overdue-snapshots": world.snapshot.pk,
        "submissions": world.submission.pk,
        "report-jobs": world.job.pk,
        "progress-targets": world.target.pk,
    }
    codes = {"regions": tree.v1.code, "problem-categories": "tank"}
    # Related objects a generated body may name: a village, a household, a round, and a
    # toilet not yet inspected in that round.
    fresh = ToiletFactory(household=HouseholdFactory(village=tree.v1))
    related = {
        "village": tree.v1.code,
        "household": fresh.household_id,
        "round": world.survey.pk,
        "toilet": fresh.pk,
    }
    # As Django's test client does: a request must not close the test's connection (on
    # PostgreSQL that would end the test transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"tokens": tokens, "ids": ids, "codes": codes, "related": related}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        cache.clear()


def load_schema(token, **config):
    # The schema needs a login, like the rest of the API.
    return schemathesis.openapi.from_wsgi(
        "/api/schema/",
        get_wsgi_application(),
        config=schemathesis.Config.from_dict(config) if config else None,
        headers={"Authorization": f"Token {token}"},
    )


@pytest.fixture
def api_schema(fuzz):
    return load_schema(fuzz["tokens"]["county"])


@pytest.fixture
def writes_schema(fuzz):
    # The other roles' runs skip the unexpected-method probes: the county's run made them.
    return load_schema(fuzz["tokens"]["county"], phases={"coverage": {"unexpected-methods": []}})


def schema_for(fixture, who):
    runs, only = runs_as(who), os.environ.get("API_FUZZ_PATH")
    return schemathesis.pytest.from_fixture(fixture).include(
        lambda ctx: runs(ctx) and (not only or re.search(only, ctx.operation.path) is not None)
    )


as_county = schema_for("api_schema", "county")
as_township = schema_for("writes_schema", "township")
as_surveyor = schema_for("writes_schema", "surveyor")

fuzz_settings = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


def use_real_rows(case, fuzz):
    """Point about half of the generated ids and codes, in the path and in a body, at rows
    that exist in the caller's scope (the rest stay as generated: unknown, out of range)."""
    collection = case.path.split("/")[2]
    params = case.path_parameters or {}
    raw = params.get("id")
    number = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
    if number is not None and (number % 2 == 0 or number == 1):
        params["id"] = fuzz["ids"].get(collection, raw)
    if isinstance(params.get("code"), str) and len(params["code"]) % 2 == 0:
        params["code"] = fuzz["codes"].get(collection, params["code"])
    if isinstance(case.body, dict) and len(case.body) % 2 == 0:
        for key, value in fuzz["related"].items():
            if key in case.body:
                case.body[key] = value


def call_and_check(case, fuzz, who):
    use_real_rows(case, fuzz)
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Token {fuzz['tokens'][who]}"})
        transaction.set_rollback(True)
    cache.clear()  # throttle counters and the like: every example starts afresh
    case.validate_response(response, checks=CHECKS)


@as_county.parametrize()
@fuzz_settings
def test_api_as_county(case, fuzz):
    call_and_check(case, fuzz, "county")


@as_township.parametrize()
@fuzz_settings
def test_writes_as_township(case, fuzz):
    call_and_check(case, fuzz, "township")


@as_surveyor.parametrize()
@fuzz_settings
def test_writes_as_surveyor(case, fuzz):
    call_and_check(case, fuzz, "surveyor")
