"""Every chart's numbers equal the summary table's (reports.build.build_summary) for the same
round, region, cut-off and user: read from the JSON endpoints, compared column by column."""

import pytest
from django.urls import reverse
from django.utils import timezone

from rectification.choices import LedgerState
from reports.build import build_summary
from tests.ledger import after_photo, consent, move

pytestmark = pytest.mark.django_db

CATEGORY_COLUMNS = list(range(12, 20))
YEAR_COLUMNS = list(range(22, 29))


def data(client, key, **params):
    response = client.get(reverse("dashboards:data", args=[key]), params)
    assert response.status_code == 200, response.content
    return response.json()


def by_label(chart):
    return {row["label"]: row["values"] for row in chart["rows"]}


def compare(client, summary, survey, **params):
    """Each chart against ``summary``'s rows and total."""
    params = {"round": survey.pk, **params}
    rows = {row.name: row.values for row in summary.rows}
    total = summary.total

    coverage = data(client, "coverage", **params)
    for label, values in by_label(coverage).items():
        assert values[0] == rows[label][1], label
    assert coverage["total"][0] == total[1]

    categories = data(client, "categories", **params)
    for label, values in by_label(categories).items():
        assert values == [rows[label][c] for c in CATEGORY_COLUMNS], label
    assert categories["total"] == [total[c] for c in CATEGORY_COLUMNS]

    years = data(client, "years", **params)
    for label, values in by_label(years).items():
        assert values == [rows[label][c] for c in YEAR_COLUMNS], label
    assert years["total"] == [total[c] for c in YEAR_COLUMNS]

    techniques = data(client, "techniques", **params)
    assert techniques["total"] == [total[20], total[21]]
    assert sum(techniques["total"]) == total[6] + total[9]

    funnel = data(client, "funnel", **params)
    states = by_label(funnel)
    assert funnel["total"] == [total[6] + total[9]]
    assert states["已销号"] == [total[29] + total[32]]
    open_ = sum(v[0] for label, v in states.items() if label != "已销号")
    assert open_ == total[33]

    problem_map = data(client, "map", **params)
    assert problem_map["total"][:3] == [
        total[6] + total[9],
        total[33],
        total[29] + total[32],
    ]
    return {"coverage": coverage, "funnel": funnel, "map": problem_map}


def test_the_county_dashboard_equals_the_county_table(tree, users, survey, ledger, as_user):
    client = as_user(users.county)
    summary = build_summary(survey, tree.county, user=users.county)
    # The data behind the comparison: 5 problem toilets in county A, 1 closed out.
    assert summary.total[6] + summary.total[9] == 5
    assert summary.total[29] + summary.total[32] == 1
    assert summary.total[33] == 4
    charts = compare(client, summary, survey)
    assert [row["label"] for row in charts["coverage"]["rows"]] == ["沙埠镇", "康熙岭镇"]


def test_the_township_dashboard_equals_the_township_table(tree, users, survey, ledger, as_user):
    client = as_user(users.township)
    summary = build_summary(survey, tree.t1, user=users.township)
    charts = compare(client, summary, survey)
    assert [row["label"] for row in charts["coverage"]["rows"]] == ["沙埠村", "东风村"]


def test_a_county_user_drilling_into_a_township(tree, users, survey, ledger, as_user):
    client = as_user(users.county)
    summary = build_summary(survey, tree.t2, user=users.county)
    compare(client, summary, survey, region=tree.t2.code)


def test_a_village_dashboard_is_its_own_row(tree, users, survey, ledger, as_user):
    client = as_user(users.surveyor)
    summary = build_summary(survey, tree.v1, user=users.surveyor)
    charts = compare(client, summary, survey)
    assert [row["label"] for row in charts["coverage"]["rows"]] == ["沙埠村"]


def test_an_earlier_cutoff_counts_what_was_closed_by_then(tree, users, survey, ledger, as_user):
    cutoff = timezone.localtime(timezone.now()).isoformat()
    move(ledger.public, "close", users.township, consent=consent())
    client = as_user(users.county)
    then = build_summary(survey, tree.county, cutoff=timezone.datetime.fromisoformat(cutoff),
                         user=users.county)  # fmt: skip
    now = build_summary(survey, tree.county, user=users.county)
    assert now.total[32] == then.total[32] + 1
    charts = compare(client, then, survey, cutoff=cutoff)
    # Closed after the cut-off: still 已验收 at the cut-off.
    assert by_label(charts["funnel"])["已验收"] == [1]
    compare(client, now, survey)


def test_an_earlier_cutoff_shows_each_entry_where_it_stood_then(
    tree, users, survey, ledger, as_user
):
    """The funnel and the overdue chart read each entry's state at the cut-off from its
    ledger log: work done after the cut-off does not move it there."""
    client = as_user(users.county)
    cutoff = timezone.localtime(timezone.now()).isoformat()
    before = {key: data(client, key, round=survey.pk) for key in ("funnel", "overdue")}
    late = move(ledger.overdue, "start", users.township)
    move(late, "rectify", users.surveyor, photos=[after_photo()])

    now_funnel = by_label(data(client, "funnel", round=survey.pk))
    assert now_funnel[LedgerState.RECTIFIED.label] == [1]
    assert now_funnel[LedgerState.PLANNED.label] == [0]
    assert by_label(data(client, "overdue", round=survey.pk))["沙埠镇"] == [0]

    then_funnel = data(client, "funnel", round=survey.pk, cutoff=cutoff)
    then_overdue = data(client, "overdue", round=survey.pk, cutoff=cutoff)
    assert by_label(then_funnel)[LedgerState.PLANNED.label] == [1]
    assert by_label(then_funnel)[LedgerState.RECTIFIED.label] == [0]
    assert by_label(then_overdue)["沙埠镇"] == [1]
    assert then_funnel["rows"] == before["funnel"]["rows"]
    assert then_overdue["rows"] == before["overdue"]["rows"]
    then = build_summary(survey, tree.county, cutoff=timezone.datetime.fromisoformat(cutoff),
                         user=users.county)  # fmt: skip
    compare(client, then, survey, cutoff=cutoff)


def test_overdue_and_flags_and_activity(tree, users, survey, ledger, as_user):
    client = as_user(users.county)
    overdue = data(client, "overdue", round=survey.pk)
    assert by_label(overdue) == {"沙埠镇": [1], "康熙岭镇": [0]}
    activity = data(client, "activity", round=survey.pk)
    # Every inspection of the round in county A was made today.
    assert activity["total"][-1] == 6 and sum(activity["total"]) == 6
    assert {row["label"] for row in activity["rows"]} == {"surveyor", "surveyor_v3"}
    flags = data(client, "flags", round=survey.pk)
    # Problem toilets without a photo are flagged (NO_PHOTO), none cleared yet.
    assert by_label(flags)["问题厕所没有照片"] == [5, 0]


def test_the_reopened_entry_is_open_again(tree, users, survey, ledger, as_user):
    funnel = by_label(data(as_user(users.county), "funnel", round=survey.pk))
    assert funnel["已销号"] == [1]
    assert sum(v[0] for v in funnel.values()) == 5
