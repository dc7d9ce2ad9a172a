"""The register of problems in how the work is done (工作推进中存在的问题, seed 001): every legal
and illegal move with its Chinese refusal, the close-out's evidence (checked before it is
stored), who sees what (another township's or county's problem is a 404), the counts in the
dispatch briefing (and an older briefing without them), and the list's bounded queries."""

import copy
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.errors import ConflictError, StaleEditError
from dispatch import periods
from dispatch import problems as svc
from dispatch.choices import WorkProblemState
from dispatch.models import Briefing, WorkProblem, WorkProblemEvidence, WorkProblemLog
from dispatch.services import generate_briefing
from tests.images import jpeg, png_bomb

pytestmark = pytest.mark.django_db

KEYS = ["work_problems", "work_problems_closed", "work_problems_overdue"]


def pdf(name="整改报告.pdf"):
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"
    )


def values(**overrides):
    today = timezone.localdate()
    data = {
        "category": "forced",
        "title": "部分村简单把发厕具当成改户厕",
        "description": "东风村发放厕具 30 套，未入户施工。",
        "measures": "逐户回访，未安装的组织施工队入户安装。",
        "responsible": "李明（分管副镇长）",
        "found_on": today,
        "deadline": today + datetime.timedelta(days=30),
    }
    data.update(overrides)
    return data


def make(actor, region, **overrides) -> WorkProblem:
    return svc.create_problem(actor=actor, region=region, **values(**overrides))


def closed(actor, problem, files=None) -> WorkProblem:
    problem = svc.start_problem(actor=actor, problem=problem)
    return svc.close_problem(
        actor=actor, problem=problem, note="已逐户回访并安装到位。", files=files or [jpeg()]
    )


# Moves -------------------------------------------------------------------------------------


def test_it_goes_from_open_to_closed_and_back_with_every_step_logged(tree, users):
    problem = make(users.township, tree.t1)
    assert problem.state == WorkProblemState.OPEN
    problem = svc.start_problem(actor=users.township, problem=problem)
    assert problem.state == WorkProblemState.IN_PROGRESS
    problem = svc.close_problem(
        actor=users.township, problem=problem, note="已整改。", files=[jpeg(), pdf()]
    )
    assert problem.state == WorkProblemState.CLOSED and problem.closed_at is not None
    kinds = sorted(
        WorkProblemEvidence.objects.filter(problem=problem).values_list("kind", flat=True)
    )
    assert kinds == ["document", "photo"]
    problem = svc.reopen_problem(
        actor=users.county, problem=problem, reason="回访发现仍有 5 户未安装。"
    )
    assert problem.state == WorkProblemState.IN_PROGRESS and problem.closed_at is None
    problem = svc.close_problem(
        actor=users.township, problem=problem, note="补装完毕。", files=[pdf()]
    )
    actions = list(WorkProblemLog.objects.filter(problem=problem).values_list("action", "to_state"))
    assert actions == [
        ("create", "open"),
        ("start", "in_progress"),
        ("close", "closed"),
        ("reopen", "in_progress"),
        ("close", "closed"),
    ]
    assert WorkProblemLog.objects.get(problem=problem, action="reopen").note.startswith("回访")


@pytest.mark.parametrize(
    "state, call, message",
    [
        ("open", "close", "尚未开始整改的问题不能销号"),
        ("in_progress", "start", "该问题已在整改中"),
        ("closed", "start", "如需重新整改，请由县级重新打开"),
        ("closed", "close", "不能重复销号"),
        ("open", "reopen", "只有已整改销号的问题可以重新打开"),
        ("in_progress", "reopen", "只有已整改销号的问题可以重新打开"),
    ],
)
def test_it_refuses_a_move_its_state_does_not_allow(tree, users, state, call, message):
    problem = make(users.township, tree.t1)
    if state in ("in_progress", "closed"):
        problem = svc.start_problem(actor=users.township, problem=problem)
    if state == "closed":
        problem = svc.close_problem(actor=users.township, problem=problem, note="好", files=[pdf()])
    before = WorkProblemLog.objects.count()
    with pytest.raises(ConflictError, match=message):
        if call == "start":
            svc.start_problem(actor=users.township, problem=problem)
        elif call == "close":
            svc.close_problem(actor=users.township, problem=problem, note="好", files=[pdf()])
        else:
            svc.reopen_problem(actor=users.county, problem=problem, reason="复核不合格")
    problem.refresh_from_db()
    assert problem.state == state and WorkProblemLog.objects.count() == before


def test_only_the_county_reopens_and_never_without_a_reason(tree, users):
    problem = closed(users.township, make(users.township, tree.t1))
    with pytest.raises(PermissionDenied, match="只有县级管理员"):
        svc.reopen_problem(actor=users.township, problem=problem, reason="自查发现不到位")
    with pytest.raises(ValidationError, match="请填写重新打开的原因"):
        svc.reopen_problem(actor=users.county, problem=problem, reason="  ")
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.CLOSED


def test_a_closed_problem_cannot_be_edited_and_a_stale_edit_is_refused(tree, users):
    problem = make(users.township, tree.t1)
    seen = problem.version
    svc.update_problem(actor=users.county, problem=problem, expected_version=seen,
                       **values(responsible="王强"))  # fmt: skip
    with pytest.raises(StaleEditError):
        svc.update_problem(actor=users.township, problem=problem, expected_version=seen,
                           **values(responsible="赵六"))  # fmt: skip
    problem = closed(users.township, problem)
    with pytest.raises(ConflictError, match="已整改销号的问题不能修改"):
        svc.update_problem(actor=users.township, problem=problem, **values(title="改个标题"))
    problem.refresh_from_db()
    assert problem.responsible == "王强"


def test_the_values_are_checked_all_at_once(tree, users):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as caught:
        make(users.township, tree.t1, category="x", title="", measures="",
             deadline=today - datetime.timedelta(days=1))  # fmt: skip
    errors = caught.value.message_dict
    assert set(errors) == {"category", "title", "measures", "deadline"}
    assert errors["deadline"] == ["整改时限不能早于发现日期。"]
    assert not WorkProblem.objects.exists()


def test_who_may_register_a_problem_and_where(tree, users):
    with pytest.raises(PermissionDenied):
        make(users.surveyor, tree.t1)
    with pytest.raises(PermissionDenied):
        make(users.inspector, tree.county)
    with pytest.raises(ValidationError):  # another township of the county
        make(users.township, tree.t2)
    with pytest.raises(ValidationError):  # a village is no unit of this register
        make(users.township, tree.v1)
    with pytest.raises(ValidationError):  # another county
        make(users.county, tree.t3)
    assert make(users.county, tree.county).region == tree.county
    assert make(users.county, tree.t2).region == tree.t2


# Evidence ----------------------------------------------------------------------------------


def test_a_close_out_needs_a_note_and_a_photo_or_a_document(tree, users):
    problem = svc.start_problem(actor=users.township, problem=make(users.township, tree.t1))
    with pytest.raises(ValidationError) as caught:
        svc.close_problem(actor=users.township, problem=problem, note="", files=[])
    assert set(caught.value.message_dict) == {"note", "files"}
    assert "至少一张照片或一份文件" in caught.value.message_dict["files"][0]
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.IN_PROGRESS


def test_a_pixel_bomb_or_an_unknown_file_is_refused_before_anything_is_stored(tree, users):
    problem = svc.start_problem(actor=users.township, problem=make(users.township, tree.t1))
    text = SimpleUploadedFile("说明.jpg", b"not an image at all", "image/jpeg")
    with pytest.raises(ValidationError) as caught:
        svc.close_problem(
            actor=users.township, problem=problem, note="好", files=[png_bomb(), text, jpeg()]
        )
    messages = caught.value.message_dict["files"]
    assert len(messages) == 2
    assert "尺寸过大" in messages[0] and "无法识别" in messages[1]
    assert not WorkProblemEvidence.objects.exists()
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.IN_PROGRESS


def test_a_stored_photo_is_our_reencoded_copy(tree, users):
    problem = closed(users.township, make(users.township, tree.t1), files=[jpeg(gps=(21.9, 108.6))])
    item = WorkProblemEvidence.objects.get(problem=problem)
    data = item.file.read()
    assert data[:2] == b"\xff\xd8" and b"Exif" not in data[:200]
    assert item.name == "photo.jpg" and item.content_type == "image/jpeg"


# Pages and scoping -------------------------------------------------------------------------


def test_the_pages_register_start_and_close_a_problem(as_user, tree, users):
    client = as_user(users.township)
    data = values()
    response = client.post(reverse("dispatch:problem-create"), {**data, "region": tree.t1.pk})
    problem = WorkProblem.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "dispatch:problem", args=[problem.pk]
    )
    page = client.get(reverse("dispatch:problem", args=[problem.pk])).content.decode()
    assert "开始整改" in page and "提交销号" not in page
    # Closing before starting: refused, with the reason.
    client.post(reverse("dispatch:problem-close", args=[problem.pk]),
                {"note": "好", "files": [pdf()]})  # fmt: skip
    page = client.get(reverse("dispatch:problem", args=[problem.pk])).content.decode()
    assert "尚未开始整改的问题不能销号" in page
    client.post(reverse("dispatch:problem-start", args=[problem.pk]), {"version": 1})
    response = client.post(reverse("dispatch:problem-close", args=[problem.pk]), {"note": ""})
    assert "请填写整改情况说明" in response.content.decode()
    assert "销号须上传至少一张照片或一份文件作为佐证" in response.content.decode()
    response = client.post(
        reverse("dispatch:problem-close", args=[problem.pk]),
        {"note": "已整改到位。", "files": [jpeg(), pdf()]},
    )
    assert response.status_code == 302
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.CLOSED
    page = client.get(reverse("dispatch:problem", args=[problem.pk])).content.decode()
    assert "整改报告.pdf" in page and "已整改销号" in page
    document = problem.evidence.get(kind="document")
    download = client.get(reverse("dispatch:problem-evidence", args=[document.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]


def test_the_county_reopens_from_the_page(as_user, tree, users):
    problem = closed(users.township, make(users.township, tree.t1))
    page = as_user(users.township).get(reverse("dispatch:problem", args=[problem.pk]))
    assert "重新打开的原因" not in page.content.decode()
    client = as_user(users.county)
    assert (
        "重新打开的原因"
        in client.get(reverse("dispatch:problem", args=[problem.pk])).content.decode()
    )
    response = client.post(reverse("dispatch:problem-reopen", args=[problem.pk]), {"reason": ""})
    assert "请填写重新打开的原因" in response.content.decode()
    client.post(reverse("dispatch:problem-reopen", args=[problem.pk]), {"reason": "整改不到位"})
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.IN_PROGRESS


def test_another_township_or_county_finds_nothing(as_user, tree, users):
    problem = closed(users.township, make(users.township, tree.t1))
    item = problem.evidence.get()
    urls = [
        reverse("dispatch:problem", args=[problem.pk]),
        reverse("dispatch:problem-edit", args=[problem.pk]),
        reverse("dispatch:problem-evidence", args=[item.pk]),
    ]
    posts = [
        reverse(f"dispatch:problem-{a}", args=[problem.pk]) for a in ("start", "close", "reopen")
    ]
    for user in (users.township_t2, users.outsider):
        client = as_user(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts:
            assert client.post(url, {"reason": "x", "note": "x"}).status_code == 404, (user, url)
        listing = client.get(reverse("dispatch:problems")).content.decode()
        assert problem.title not in listing
    problem.refresh_from_db()
    assert problem.state == WorkProblemState.CLOSED
    # The county sees its townships' problems; a surveyor has no page here.
    assert problem.title in as_user(users.county).get(reverse("dispatch:problems")).content.decode()
    assert as_user(users.surveyor).get(reverse("dispatch:problems")).status_code == 403
    assert as_user(users.inspector).get(urls[0]).status_code == 200
    assert as_user(users.inspector).get(reverse("dispatch:problem-create")).status_code == 403


def test_the_list_filters_by_state_category_and_township(as_user, tree, users):
    a = make(users.township, tree.t1, title="甲问题", category="rushing")
    b = closed(users.township_t2, make(users.township_t2, tree.t2, title="乙问题"))
    c = make(users.county, tree.county, title="丙问题", category="maintenance",
             found_on=timezone.localdate() - datetime.timedelta(days=40),
             deadline=timezone.localdate() - datetime.timedelta(days=10))  # fmt: skip
    client = as_user(users.county)

    def listed(**query):
        html = client.get(reverse("dispatch:problems"), query).content.decode()
        return {p.title for p in (a, b, c) if p.title in html}

    assert listed() == {"甲问题", "乙问题", "丙问题"}
    assert listed(state="closed") == {"乙问题"}
    assert listed(category="rushing") == {"甲问题"}
    assert listed(township=tree.t2.code) == {"乙问题"}
    assert listed(overdue="true") == {"丙问题"}
    assert listed(township=tree.t3.code) == set()  # another county's township: nothing
    assert listed(q="丙") == {"丙问题"}


def test_the_list_takes_a_fixed_number_of_queries(
    as_user, tree, users, django_assert_max_num_queries
):
    for n in range(3):
        make(users.township, tree.t1, title=f"问题{n}")
    client = as_user(users.county)
    url = reverse("dispatch:problems")
    client.get(url)
    with django_assert_max_num_queries(9) as few:
        client.get(url)
    for n in range(15):
        make(users.county, tree.t2 if n % 2 else tree.county, title=f"更多{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


# The briefing ------------------------------------------------------------------------------


def test_the_briefing_counts_found_closed_and_overdue_per_township(as_user, tree, users, survey):
    today = timezone.localdate()
    late = {"found_on": today - datetime.timedelta(days=20),
            "deadline": today - datetime.timedelta(days=1)}  # fmt: skip
    make(users.township, tree.t1)
    make(users.township, tree.t1, **late)
    closed(users.township, make(users.township, tree.t1, **late))  # closed: not overdue
    reopened = closed(users.township_t2, make(users.township_t2, tree.t2))
    svc.reopen_problem(actor=users.county, problem=reopened, reason="复核不合格")
    make(users.county, tree.county, **late)  # the county's own: in the total only
    make(users.outsider, tree.county_b)  # another county: nowhere

    briefing = generate_briefing(actor=users.county, county=tree.county, kind="week")
    rows = {r["code"]: r for r in briefing.data["rows"]}
    assert [rows[tree.t1.code][k] for k in KEYS] == [3, 1, 1]
    assert [rows[tree.t2.code][k] for k in KEYS] == [1, 0, 0]
    assert [briefing.data["total"][k] for k in KEYS] == [5, 1, 2]

    client = as_user(users.township)
    html = client.get(reverse("dispatch:detail", args=[briefing.pk])).content.decode()
    assert (
        'id="work-problems-head"' in html
        and '<td class="num problems">3/1/<span class="warn">1</span></td>' in html
    )
    mine = client.get(reverse("dispatch:mine")).content.decode()
    assert "工作推进问题：登记 3 个，已整改销号 1 个" in mine
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("dispatch:xlsx", args=[briefing.pk])).content)
    ).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    t1 = dict(zip(table[0], next(r for r in table if r[1] == "沙埠镇"), strict=False))
    assert (t1["工作推进问题"], t1["工作推进问题已销号"], t1["工作推进问题逾期"]) == (3, 1, 1)


def test_the_briefing_judges_each_problem_as_it_stood_at_the_cutoff(tree, users, survey):
    problem = make(users.township, tree.t1)
    closed(users.township, problem)
    # Closed after the cut-off of last week's briefing: open then.
    start, end = periods.week_of(timezone.localdate() - datetime.timedelta(days=7))
    WorkProblem.objects.filter(pk=problem.pk).update(created_at=periods.end_of_day(end)
                                                     - datetime.timedelta(days=1))  # fmt: skip
    WorkProblemLog.objects.filter(problem=problem, action="create").update(
        at=periods.end_of_day(end) - datetime.timedelta(days=1)
    )
    earlier = generate_briefing(actor=users.county, county=tree.county, kind="week", day=start)
    row = next(r for r in earlier.data["rows"] if r["code"] == tree.t1.code)
    assert (row["work_problems"], row["work_problems_closed"]) == (1, 0)


def test_a_briefing_frozen_before_the_problem_figures_still_reads(as_user, tree, users, survey):
    model = generate_briefing(actor=users.county, county=tree.county, kind="month")
    data = copy.deepcopy(model.data)
    for row in [*data["rows"], data["total"]]:
        for key in KEYS:
            del row[key]
    start, end = periods.week_of(timezone.localdate() - datetime.timedelta(days=7))
    old = Briefing.objects.create(
        county=tree.county, round=survey, kind="week", period_start=start, period_end=end,
        edition=1, cutoff=periods.end_of_day(end), generated_at=periods.end_of_day(end),
        data=data, formula=model.formula,
    )  # fmt: skip
    client = as_user(users.township)
    html = client.get(reverse("dispatch:detail", args=[old.pk])).content.decode()
    assert (
        'id="work-problems-head"' in html and "截至数据时点登记的工作推进中存在的问题" not in html
    )
    assert html.count('<td class="num problems">—</td>') == len(data["rows"]) + 1
    mine = client.get(reverse("dispatch:mine"), {"kind": "week"}).content.decode()
    assert old.title in mine and 'id="work-problems"' not in mine
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("dispatch:xlsx", args=[old.pk])).content)
    ).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    t1 = dict(zip(table[0], next(r for r in table if r[1] == "沙埠镇"), strict=False))
    assert t1["工作推进问题"] == "—" and t1["工作推进问题逾期"] == "—"


def test_a_spreadsheet_is_kept_as_a_document_and_another_zip_is_refused(tree, users):
    import zipfile

    from openpyxl import Workbook

    book, buffer = Workbook(), io.BytesIO()
    book.active["A1"] = "回访记录"
    book.save(buffer)
    sheet = SimpleUploadedFile("回访记录.xlsx", buffer.getvalue())
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    word = SimpleUploadedFile("报告.docx", other.getvalue())
    problem = svc.start_problem(actor=users.township, problem=make(users.township, tree.t1))
    with pytest.raises(ValidationError, match="不是可用的表格文件"):
        svc.close_problem(actor=users.township, problem=problem, note="好", files=[word])
    problem = svc.close_problem(actor=users.township, problem=problem, note="好", files=[sheet])
    item = problem.evidence.get()
    assert (item.kind, item.name) == ("document", "回访记录.xlsx")
