"""Personal API tokens: created and revoked by their owner on /account/tokens/, used with
``Authorization: Bearer <key>``, next to DRF's own /api/token/ keys."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from apitokens import services
from apitokens.models import ApiToken, TokenStatus, hash_key
from tests.conftest import login
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/account/tokens/"


def create(client, name="省级平台对接", days="365"):
    return client.post(LIST_URL, {"name": name, "expires_in_days": days})


def key_in(response) -> str:
    match = re.search(r'value="(tl_[A-Za-z0-9_-]+)"', response.content.decode())
    assert match, "the new key is shown"
    return match.group(1)


def test_the_page_needs_a_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_url_name():
    assert reverse("apitokens:list") == LIST_URL


def test_create_shows_the_key_once_and_stores_only_its_hash(client, users):
    login(client, users.surveyor)
    response = create(client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = key_in(response)
    assert "请立即复制" in response.content.decode()
    token = ApiToken.objects.get(user=users.surveyor)
    assert token.name == "省级平台对接"
    assert token.key_hash == hash_key(key) != key
    assert key.startswith(token.prefix) and len(token.prefix) == 11
    assert timedelta(days=364) < token.expires_at - timezone.now() <= timedelta(days=365)
    # Never shown again: the list shows the prefix only.
    page = client.get(LIST_URL).content.decode()
    assert key not in page
    assert f"{token.prefix}…" in page
    assert "省级平台对接" in page and "有效" in page and "从未使用" in page


def test_create_without_expiry_and_name_errors(client, users):
    login(client, users.surveyor)
    create(client, name="永久", days="")
    assert ApiToken.objects.get(name="永久").expires_at is None
    response = create(client, name="   ")
    assert response.status_code == 400
    assert 'value="tl_' not in response.content.decode()  # no key shown
    assert ApiToken.objects.count() == 1
    response = create(client, name="x", days="7")  # not one of the choices
    assert response.status_code == 400


def test_active_token_limit(users):
    for n in range(services.MAX_ACTIVE_TOKENS):
        services.create_token(actor=users.surveyor, name=f"t{n}")
    with pytest.raises(services.ValidationError):
        services.create_token(actor=users.surveyor, name="one too many")
    services.revoke_token(actor=users.surveyor, token_id=ApiToken.objects.first().pk)
    services.create_token(actor=users.surveyor, name="after a revocation")


def test_list_shows_only_own_tokens(client, users):
    services.create_token(actor=users.surveyor, name="村里的对接")
    services.create_token(actor=users.county, name="县里的对接")
    login(client, users.surveyor)
    page = client.get(LIST_URL).content.decode()
    assert "村里的对接" in page
    assert "县里的对接" not in page


def test_bearer_key_calls_the_api_and_records_last_use(api, users, register):
    token, key = services.create_token(actor=users.surveyor, name="对接")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get("/api/households/")
    assert response.status_code == 200
    assert {h["head_name"] for h in response.json()["results"]} == {"王建国"}  # scoped
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    # Within a minute: no second write.
    api.get("/api/households/")
    token.refresh_from_db()
    assert token.last_used_at == first_use
    # More than a minute later: written again.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    api.get("/api/households/")
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=1)


def test_token_keyword_works_for_our_keys_too(api, users):
    _, key = services.create_token(actor=users.surveyor, name="对接")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/households/").status_code == 200


def test_drf_authtoken_keys_still_work(api, users):
    response = api.post("/api/token/", {"username": "surveyor", "password": PASSWORD})
    assert response.status_code == 200
    drf_key = response.json()["token"]
    assert Token.objects.get(user=users.surveyor).key == drf_key
    api.credentials(HTTP_AUTHORIZATION=f"Token {drf_key}")
    assert api.get("/api/households/").status_code == 200
    # A DRF key sent as Bearer is not one of ours.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {drf_key}")
    assert api.get("/api/households/").status_code == 401


def test_anonymous_still_401_with_challenge(api):
    response = api.get("/api/households/")
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("Token") and "Bearer" in challenge


@pytest.mark.parametrize(
    "header",
    ["Bearer tl_not-a-real-key", "Bearer", "Bearer a b", "Token tl_not-a-real-key"],
)
def test_bad_keys_401_in_chinese(api, users, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/households/")
    assert response.status_code == 401
    assert re.search(r"[\u4e00-\u9fff]", response.json()["detail"])


def test_revoke_then_401(client, api, users):
    token, key = services.create_token(actor=users.surveyor, name="对接")
    login(client, users.surveyor)
    response = client.post(reverse("apitokens:revoke", args=[token.pk]), follow=True)
    assert response.status_code == 200
    assert "已撤销令牌" in response.content.decode()
    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED and token.revoked_by == users.surveyor
    assert "已撤销" in client.get(LIST_URL).content.decode()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get("/api/households/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("令牌已撤销")
    # Revoking again changes nothing.
    revoked_at = token.revoked_at
    services.revoke_token(actor=users.surveyor, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


def test_revoke_needs_post(client, users):
    token, _ = services.create_token(actor=users.surveyor, name="对接")
    login(client, users.surveyor)
    assert client.get(reverse("apitokens:revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_checks_csrf(users):
    from django.test import Client

    token, _ = services.create_token(actor=users.surveyor, name="对接")
    client = Client(enforce_csrf_checks=True)
    client.force_login(users.surveyor)
    assert client.post(reverse("apitokens:revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_users_token_is_404(client, users):
    token, _ = services.create_token(actor=users.county, name="县里的对接")
    login(client, users.surveyor)
    response = client.post(reverse("apitokens:revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.post(reverse("apitokens:revoke", args=[999999])).status_code == 404


def test_expired_token_401(api, users):
    token, key = services.create_token(
        actor=users.surveyor, name="对接", expires_in=timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get("/api/households/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("令牌已过期")
    token.refresh_from_db()
    assert token.status_label == "已过期"


def test_inactive_users_token_401(api, users):
    _, key = services.create_token(actor=users.surveyor, name="对接")
    users.surveyor.is_active = False
    users.surveyor.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get("/api/households/")
    assert response.status_code == 401
    assert "停用" in response.json()["detail"]


def test_services_refuse_anonymous_and_inactive(users):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.create_token(actor=AnonymousUser(), name="x")
    users.surveyor.is_active = False
    with pytest.raises(PermissionDenied):
        services.create_token(actor=users.surveyor, name="x")


def test_admin_lists_and_revokes(client, users):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    token, key = services.create_token(actor=users.surveyor, name="泄露的令牌")
    login(client, admin_user)
    changelist = reverse("admin:apitokens_apitoken_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert "泄露的令牌" in page.content.decode()
    assert key not in page.content.decode() and token.key_hash not in page.content.decode()
    response = client.post(
        changelist, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin_user
    assert client.get(reverse("admin:apitokens_apitoken_add")).status_code == 403
    assert site._registry[ApiToken].has_delete_permission(None) is False


def test_admin_revoke_needs_the_permission(users):
    from django.core.exceptions import PermissionDenied

    token, _ = services.create_token(actor=users.surveyor, name="对接")
    with pytest.raises(PermissionDenied):
        services.revoke_token(actor=users.county, token_id=token.pk, as_admin=True)
    with pytest.raises(ApiToken.DoesNotExist):
        services.revoke_token(actor=users.county, token_id=token.pk)


def test_schema_declares_bearer_auth(api, users):
    login(api, users.county)
    schema = api.get("/api/schema/", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}


def test_an_admin_reaches_only_the_tokens_of_users_in_their_region(users):
    """Tokens are read through the scoping method like everything else: a county's staff
    cannot list or revoke another county's tokens in the admin."""
    from django.contrib.auth.models import Permission
    from django.test import RequestFactory

    admin_user = users.county
    admin_user.is_staff = True
    admin_user.save()
    admin_user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_apitoken", "change_apitoken"])
    )
    admin_user = type(admin_user).objects.get(pk=admin_user.pk)
    ours, _ = services.create_token(actor=users.surveyor, name="本县")
    theirs, _ = services.create_token(actor=users.outsider, name="外县")
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    listed = set(site._registry[ApiToken].get_queryset(request))
    assert ours in listed and theirs not in listed
    with pytest.raises(ApiToken.DoesNotExist):
        services.revoke_token(actor=admin_user, token_id=theirs.pk, as_admin=True)
    assert services.revoke_token(actor=admin_user, token_id=ours.pk, as_admin=True).revoked_at
