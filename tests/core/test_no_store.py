"""Cache-Control: no-store on signed-in pages and every API response (issue 16, finding 6):
pages and answers carry full ID and phone numbers; neither the browser's cache nor a proxy
may keep them. Public pages, the service worker, the manifest and photos keep their own."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_signed_in_pages_are_never_stored(client, users, register):
    client.force_login(users.county)
    for url in [
        reverse("home"),
        reverse("toilets:household-list"),
        reverse("toilets:household-detail", args=[register.h1.pk]),
        reverse("toilets:toilet-list"),
        reverse("rectification:ledger"),
        reverse("reports:index"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url
        assert "private" in response["Cache-Control"], url


def test_api_answers_are_never_stored(client, api, users, register):
    api.force_authenticate(users.county)
    response = api.get("/api/households/")
    assert response.status_code == 200
    assert no_store(response)
    assert no_store(api.get(f"/api/households/{register.h1.pk}/"))
    api.force_authenticate(None)
    assert no_store(api.get("/api/households/"))  # a 401, too
    assert no_store(client.get("/api/nothing-here/"))


def test_public_pages_and_the_app_shell_keep_their_caching(client, users):
    verify = client.get(reverse("reports:verify"))
    assert verify.status_code == 200
    assert not no_store(verify)
    client.force_login(users.surveyor)
    # The service worker and the manifest set their own headers.
    assert client.get(reverse("service-worker"))["Cache-Control"] == "no-cache, max-age=0"
    assert client.get(reverse("manifest"))["Cache-Control"] == "max-age=86400"
