"""The OpenAPI schema documents every error answer an operation can give, with a body schema;
and the answers the schema fuzzer found wrong stay fixed."""

import io

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    loaded = yaml.safe_load(out.getvalue())
    assert "/api/submissions/{id}/accept/" in loaded["paths"]


def test_every_new_resource_is_in_the_schema(schema):
    for collection in (
        "inspection-flags", "spot-check-samples", "spot-check-items", "reconciliation-notes",
        "problem-categories", "report-templates", "overdue-snapshots", "submissions",
        "report-jobs", "progress-targets",
    ):  # fmt: skip
        assert f"/api/{collection}/" in schema["paths"], collection
        details = [p for p in schema["paths"] if p.startswith(f"/api/{collection}/{{")]
        assert details, collection


def test_error_components_have_bodies(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["required"] == ["detail"]
    field_errors = components["ValidationError"]["additionalProperties"]["anyOf"]
    assert {"type": "array", "items": {"type": "string"}} in field_errors


def test_every_operation_lists_its_error_answers(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        where = f"{method.upper()} {path}"
        assert {"401", "429"} <= codes, where
        if path != "/api/token/":
            assert "403" in codes, where
        if "{" in path or (method == "get" and "page" in str(operation.get("parameters"))):
            assert "404" in codes, where
        if method in WRITES:
            assert {"400", "415"} <= codes, where
        if method in WRITES and path != "/api/token/":
            assert "409" in codes, where
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                schema_ = response["content"]["application/json"]["schema"]
                assert schema_, where


def test_400_allows_field_errors_and_a_detail(schema):
    response = schema["paths"]["/api/ledger/{id}/transition/"]["post"]["responses"]["400"]
    refs = response["content"]["application/json"]["schema"]["anyOf"]
    assert {r["$ref"] for r in refs} == {
        "#/components/schemas/ValidationError",
        "#/components/schemas/ErrorDetail",
    }
    # The hand-written description of the transition's answers is kept.
    assert "未知操作" in response["description"]


def test_integer_parameters_are_bounded(schema):
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["schema"].get("type") in ("integer", "number"):
                assert parameter["schema"]["maximum"] == 2_147_483_647, (path, parameter)
                assert "minimum" in parameter["schema"], (path, parameter)


def test_blank_choices_are_documented(schema):
    # A ledger entry without a plan answers problem_class "" (read-only fields keep blanks).
    entry = schema["components"]["schemas"]["LedgerEntry"]["properties"]["problem_class"]
    assert any(ref.get("$ref", "").endswith("BlankEnum") for ref in entry["oneOf"])


def test_photo_upload_documents_201(schema):
    responses = schema["paths"]["/api/inspections/{id}/photos/"]["post"]["responses"]
    assert "201" in responses and "200" not in responses


# Answers the fuzzer found wrong -------------------------------------------------------------


def test_unknown_api_addresses_answer_json(api, users):
    api.force_authenticate(users.county)
    for url in ("/api/nothing/", "/api/rounds/0.5/open/", "/api/inspection-flags/x.y/clear/"):
        response = api.post(url, {}, format="json")
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "未找到。"}
    # Without its trailing slash an address is still redirected to it.
    response = api.get("/api/households", {"page": 2})
    assert response.status_code == 301
    assert response["Location"] == "/api/households/?page=2"


def test_verify_and_return_refuse_a_body_that_is_not_an_object(api, users, tree):
    from tests.factories import InspectionFactory, SurveyRoundFactory, ToiletFactory

    survey = SurveyRoundFactory(county=tree.county)
    inspection = InspectionFactory(round=survey, toilet=ToiletFactory(), surveyor=users.surveyor)
    api.force_authenticate(users.township)
    for action in ("verify", "return"):
        url = f"/api/inspections/{inspection.pk}/{action}/"
        response = api.post(url, [None, None], format="json")
        assert response.status_code == 400, action
        assert "non_field_errors" in response.json()
    response = api.post(
        f"/api/inspections/{inspection.pk}/verify/", {"version": "x"}, format="json"
    )
    assert response.json() == {"version": ["版本号应为整数。"]}
