"""岗前培训 pages (先培训后上岗): who is listed (another township's or county's user is not, and
its page is a 404), the count of the untrained, recording one or several people (which opens
the gate), the refusals, and the banner an untrained surveyor or reviewer sees at home."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from regions import training
from regions.choices import Role
from regions.models import TrainingRecord
from regions.scoping import has_capability
from tests.factories import UserFactory
from tests.surveys.test_surveys import form_data, inspect_url

pytestmark = pytest.mark.django_db

BANNER = 'id="training-banner"'


@pytest.fixture
def newcomers(tree):
    """Untrained: a surveyor of V1 and one of V3 (other township), a reviewer of T1, and a
    surveyor of the other county."""
    return {
        "v1": UserFactory(username="new_v1", first_name="新摸排员", role=(Role.SURVEYOR, tree.v1),
                          trained=False),
        "v3": UserFactory(username="new_v3", role=(Role.SURVEYOR, tree.v3), trained=False),
        "t1": UserFactory(username="new_t1", role=(Role.TOWNSHIP, tree.t1), trained=False),
        "b": UserFactory(username="new_b", role=(Role.SURVEYOR, tree.v4), trained=False),
    }  # fmt: skip


def course(**overrides):
    data = {
        "trained_on": timezone.localdate().isoformat(),
        "course": "农村户厕问题摸排业务培训",
        "trainer": "县卫健委",
    }
    data.update(overrides)
    return data


def listed(client, **query) -> set[str]:
    html = client.get(reverse("training:list"), query).content.decode()
    return {n for n in ("new_v1", "new_v3", "new_t1", "new_b", "surveyor", "township_t2")
            if f">{n}<" in html}  # fmt: skip


def test_the_township_lists_its_own_people_and_counts_the_untrained(
    as_user, users, newcomers, django_assert_max_num_queries
):
    client = as_user(users.township)
    assert listed(client) == {"new_t1", "surveyor"}  # new_v1 shows its full name
    html = client.get(reverse("training:list")).content.decode()
    assert "新摸排员" in html and "未培训 2 人" in html
    assert html.count('class="is-overdue untrained"') == 2
    untrained = client.get(reverse("training:list"), {"untrained": "1"}).content.decode()
    assert "新摸排员" in untrained and ">surveyor<" not in untrained
    with django_assert_max_num_queries(8):
        client.get(reverse("training:list"))


def test_the_county_lists_its_townships_people_but_not_another_county(as_user, users, newcomers):
    client = as_user(users.county)
    assert listed(client) == {"new_v3", "new_t1", "surveyor", "township_t2"}
    html = client.get(reverse("training:list")).content.decode()
    assert "未培训 3 人" in html


def test_another_township_or_county_user_is_a_404(as_user, users, newcomers):
    client = as_user(users.township)
    for user in (newcomers["v3"], newcomers["b"], users.county):
        assert client.get(reverse("training:person", args=[user.pk])).status_code == 404
        assert client.get(reverse("training:record"), {"user": user.pk}).status_code == 404
        response = client.post(f"{reverse('training:record')}", {**course(), "users": [user.pk]})
        assert response.status_code == 404
    assert not TrainingRecord.objects.filter(user__in=newcomers.values()).exists()
    assert client.get(reverse("training:person", args=[newcomers["v1"].pk])).status_code == 200


def test_roles_without_the_capability_have_no_page(as_user, users):
    for user in (users.surveyor, users.inspector):
        assert as_user(user).get(reverse("training:list")).status_code == 403


def test_recording_a_course_opens_the_gate(as_user, users, newcomers, register):
    from tests.factories import SurveyRoundFactory

    survey = SurveyRoundFactory(county=users.county.role_assignment.region, name="2026年摸排")
    surveyor = newcomers["v1"]
    refused = as_user(surveyor).get(inspect_url(survey, register.t1))
    assert refused.status_code == 403 and "先培训后上岗" in refused.content.decode()

    client = as_user(users.township)
    response = client.post(
        f"{reverse('training:record')}?user={surveyor.pk}", {**course(), "users": [surveyor.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("training:person", args=[surveyor.pk])
    record = TrainingRecord.objects.get(user=surveyor)
    assert record.recorded_by == users.township and record.trainer == "县卫健委"
    page = client.get(reverse("training:person", args=[surveyor.pk])).content.decode()
    assert "农村户厕问题摸排业务培训" in page and "未培训" not in page

    client = as_user(surveyor)
    assert BANNER not in client.get(reverse("home")).content.decode()
    data = form_data(usability="normal", categories=None)
    assert client.post(inspect_url(survey, register.t1), data).status_code == 302


def test_several_people_at_once_all_or_nothing(as_user, users, newcomers):
    client = as_user(users.county)
    picked = [newcomers["v3"].pk, newcomers["t1"].pk]
    response = client.post(reverse("training:record"), {**course(), "users": picked})
    assert response.status_code == 302
    assert TrainingRecord.objects.filter(user_id__in=picked).count() == 2
    # The same course on the same day again: refused for everyone, naming who has it.
    again = client.post(
        reverse("training:record"), {**course(), "users": [*picked, users.surveyor.pk]}
    )
    assert "new_v3" in again.content.decode() and "请勿重复登记" in again.content.decode()
    assert TrainingRecord.objects.filter(user=users.surveyor).count() == 1  # the factory's
    assert "未培训 0 人" not in client.get(reverse("training:list")).content.decode()


def test_the_form_refuses_what_is_wrong(as_user, users, newcomers):
    client = as_user(users.township)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        reverse("training:record"),
        {**course(trained_on=tomorrow.isoformat(), course=" "), "users": [newcomers["v1"].pk]},
    )
    html = response.content.decode()
    assert "培训日期不能晚于今天" in html and "请填写培训内容" in html
    nobody = client.post(reverse("training:record"), course()).content.decode()
    assert "请选择参训人员" in nobody
    assert not TrainingRecord.objects.filter(user=newcomers["v1"]).exists()


def test_nobody_records_their_own_training(users, newcomers, tree):
    reviewer = newcomers["t1"]
    with pytest.raises(PermissionDenied, match="不能为自己登记"):
        training.record_training(actor=reviewer, user=reviewer, trained_on=timezone.localdate(),
                                 course="核查业务培训", trainer="县农业农村局")  # fmt: skip
    with pytest.raises(PermissionDenied):
        training.record_training(actor=users.surveyor, user=newcomers["v1"],
                                 trained_on=timezone.localdate(), course="x", trainer="y")  # fmt: skip
    with pytest.raises(ValidationError):
        training.record_training(actor=users.township, user=newcomers["v1"],
                                 trained_on=timezone.localdate(), course="", trainer="y")  # fmt: skip
    record = training.record_training(actor=users.township, user=reviewer,
                                      trained_on=timezone.localdate(), course="核查业务培训",
                                      trainer="县农业农村局")  # fmt: skip
    assert record.recorded_by == users.township and has_capability(reviewer, "verify")


def test_an_untrained_surveyor_or_reviewer_sees_the_banner_at_home(as_user, users, newcomers):
    html = as_user(newcomers["v1"]).get(reverse("home")).content.decode()
    assert BANNER in html and "暂不能录入摸排结果" in html
    html = as_user(newcomers["t1"]).get(reverse("home")).content.decode()
    assert BANNER in html and "暂不能核查摸排记录" in html
    for user in (users.surveyor, users.township, users.county):
        assert BANNER not in as_user(user).get(reverse("home")).content.decode()


def test_the_county_home_shows_how_many_are_untrained(as_user, users, newcomers):
    html = as_user(users.county).get(reverse("home")).content.decode()
    assert 'id="training-callout"' in html and "未培训 3 人" in html
    assert f"{reverse('training:list')}?untrained=1" in html
    html = as_user(users.township_t2).get(reverse("home")).content.decode()
    assert "未培训 1 人" in html  # its own newcomer (new_v3) only
    assert (
        'id="training-callout"' not in as_user(users.surveyor).get(reverse("home")).content.decode()
    )


def test_an_untrained_reviewer_certifies_nobody(users, newcomers, tree):
    """Two untrained reviewers of one township cannot open each other's gate."""
    other = UserFactory(username="new_t1b", role=(Role.TOWNSHIP, tree.t1), trained=False)
    with pytest.raises(PermissionDenied, match="您本人尚未登记岗前培训"):
        training.record_training(actor=newcomers["t1"], user=other,
                                 trained_on=timezone.localdate(), course="核查业务培训",
                                 trainer="县农业农村局")  # fmt: skip
    assert not has_capability(other, "verify")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite has one writer at a time; CI runs this on PostgreSQL",
)
def test_two_clerks_recording_the_same_training_at_once_make_one_record(tree, users, newcomers):
    """Both pass the "already recorded?" check before either writes: the database keeps
    one record and the other clerk is told, in Chinese, that it was just recorded."""
    barrier = threading.Barrier(2)
    outcomes = []
    day = timezone.localdate()

    def record(actor):
        try:
            barrier.wait(timeout=10)
            training.record_training(
                actor=actor,
                user=newcomers["v1"],
                trained_on=day,
                course="岗前培训",
                trainer="县农业农村局",
            )
            outcomes.append("recorded")
        except ValidationError as exc:
            outcomes.append("refused: " + " ".join(exc.messages))
        except Exception as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    colleague = UserFactory(username="township_b", role=(Role.TOWNSHIP, tree.t1))
    threads = [threading.Thread(target=record, args=(a,)) for a in (users.township, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(o.split(":")[0] for o in outcomes) == ["recorded", "refused"], outcomes
    assert "培训记录" in next(o for o in outcomes if o.startswith("refused"))
    assert TrainingRecord.objects.filter(user=newcomers["v1"]).count() == 1
