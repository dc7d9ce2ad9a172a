"""The township's side: the queue of leads with their steps, plates (make, reissue, print),
the service phone, and 受益户公示. Every row is read through ``visible_to``; another region's
row is a 404."""

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from core.errors import ConflictError
from core.responses import private_image
from core.web.forms import int_or_none, put_errors
from regions.choices import Level
from regions.models import Region
from regions.scoping import scope_of
from toilets.models import Toilet

from .. import qr, services
from ..choices import PROBLEM_CATEGORY_OF, LeadKind
from ..forms import STEP_FORMS, ContactForm, PostedForm, PostingForm, ReissueForm
from ..models import Lead, LeadLog, Plate, Posting, ServiceContact
from ..queries import STATE_FILTERS, queue

PAGE_SIZE = 50


class LeadQueueView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        show = request.GET.get("show", "waiting")
        kind = request.GET.get("kind", "")
        rows = queue(user)
        counts = {key: rows.filter(q).count() for key, (_, q) in STATE_FILTERS.items()}
        counts["overdue"] = rows.overdue().count()
        if show == "overdue":
            rows = rows.overdue()
        else:
            rows = rows.filter(STATE_FILTERS.get(show, STATE_FILTERS["waiting"])[1])
        if kind in LeadKind.values:
            rows = rows.filter(kind=kind)
        page = Paginator(rows.order_by("created_at", "id"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        tabs = [(k, label, counts[k]) for k, (label, _) in STATE_FILTERS.items()]
        tabs.insert(1, ("overdue", "逾期未办", counts["overdue"]))
        return render(
            request,
            "public/queue.html",
            {
                "page_obj": page,
                "tabs": tabs,
                "show": show,
                "kind": kind,
                "kinds": LeadKind.choices,
                "now": timezone.now(),
                "can_act": services.can_handle_leads(user),
            },
        )


def _lead(request, pk) -> Lead:
    return get_object_or_404(
        Lead.objects.visible_to(request.user).select_related(
            "village__parent", "toilet__household", "plate", "ledger_entry", "posting"
        ),
        pk=pk,
    )


def _step_forms(lead, steps, bound=None):
    forms = []
    for step in steps:
        cls = STEP_FORMS[step.action]
        if bound is not None and bound.prefix == step.action:
            forms.append((step, bound))
            continue
        initial = {}
        if step.action == "convert":
            code = PROBLEM_CATEGORY_OF.get(lead.category)
            initial["categories"] = [code] if code else []
        forms.append((step, cls(prefix=step.action, initial=initial)))
    return forms


class LeadDetailView(LoginRequiredMixin, View):
    def context(self, request, lead, bound=None):
        user = request.user
        steps = services.available_steps(user, lead)
        open_entry = services.open_entry_of(user, lead)
        if open_entry is None:
            steps = [s for s in steps if s.action != "merge"]
        else:
            steps = [s for s in steps if s.action != "convert"]
        return {
            "lead": lead,
            "log": LeadLog.objects.visible_to(user).filter(lead=lead).select_related("actor"),
            "steps": _step_forms(lead, steps, bound),
            "open_entry": open_entry,
            "now": timezone.now(),
            "action_labels": services.ACTION_LABELS,
        }

    def get(self, request, pk):
        lead = _lead(request, pk)
        return render(request, "public/lead_detail.html", self.context(request, lead))

    def post(self, request, pk):
        lead = _lead(request, pk)
        action = request.POST.get("action", "")
        if action not in STEP_FORMS:
            raise Http404
        form = STEP_FORMS[action](request.POST, request.FILES, prefix=action)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.act(
                    actor=request.user,
                    lead=lead,
                    action=action,
                    expected_version=int_or_none(request.POST.get("version")),
                    answer=data.get("answer", ""),
                    note=data.get("note", ""),
                    assignee=data.get("assignee", ""),
                    usability=data.get("usability", ""),
                    categories=[c.pk for c in data.get("categories", [])],
                    photo=data.get("photo"),
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ConflictError as exc:
                messages.error(request, exc.message)
                return redirect("public:lead", pk=lead.pk)
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, f"已{services.STEPS[action].label}。")
                return redirect("public:lead", pk=lead.pk)
        return render(
            request, "public/lead_detail.html", self.context(request, lead, form), status=400
        )


class LeadPhotoView(LoginRequiredMixin, View):
    def get(self, request, pk):
        lead = _lead(request, pk)
        if not lead.photo:
            raise Http404
        return private_image(lead.photo)


class LogPhotoView(LoginRequiredMixin, View):
    def get(self, request, pk):
        log = get_object_or_404(LeadLog.objects.visible_to(request.user), pk=pk)
        if not log.photo:
            raise Http404
        return private_image(log.photo)


# Plates ----------------------------------------------------------------------------------------


def _toilet(request, pk) -> Toilet:
    return get_object_or_404(
        Toilet.objects.visible_to(request.user).select_related("village__parent", "household"),
        pk=pk,
    )


def _village(request, code) -> Region:
    return get_object_or_404(
        Region.objects.visible_to(request.user)
        .filter(level=Level.VILLAGE)
        .select_related("parent"),
        code=code,
    )


class ToiletPlateView(LoginRequiredMixin, View):
    """A toilet's plates: the one in force (print it, reissue it) and the revoked ones."""

    def get(self, request, pk, form=None, status=200):
        toilet = _toilet(request, pk)
        plates = Plate.objects.visible_to(request.user).filter(toilet=toilet)
        return render(
            request,
            "public/toilet_plates.html",
            {
                "toilet": toilet,
                "plates": plates,
                "active": next((p for p in plates if p.is_active), None),
                "form": form or ReissueForm(),
                "can_act": services.can_handle_leads(request.user),
            },
            status=status,
        )

    def post(self, request, pk):
        toilet = _toilet(request, pk)
        try:
            if request.POST.get("action") == "reissue":
                form = ReissueForm(request.POST)
                if not form.is_valid():
                    return self.get(request, pk, form, status=400)
                plate = get_object_or_404(
                    Plate.objects.visible_to(request.user).active(), toilet=toilet
                )
                services.reissue_plate(
                    actor=request.user, plate=plate, reason=form.cleaned_data["reason"]
                )
                messages.success(request, "原标识牌已作废，新牌已生成，请打印后更换。")
            else:
                services.issue_plate(actor=request.user, toilet=toilet)
                messages.success(request, "标识牌已生成。")
        except PermissionDenied as exc:
            raise Http404 from exc
        except ConflictError as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            form = ReissueForm(request.POST)
            put_errors(form, exc)
            return self.get(request, pk, form, status=400)
        return redirect("public:toilet-plates", pk=toilet.pk)


def _plate_card(request, plate, contact) -> dict:
    toilet = plate.toilet
    url = qr.plate_url(request, plate)
    return {
        "plate": plate,
        "village": toilet.village,
        "township": toilet.village.parent,
        "tech_type": toilet.get_tech_type_display(),
        "kind": toilet.get_kind_display(),
        "build_year": toilet.build_year,
        "service_phone": contact.service_phone if contact else "",
        "url": url,
        "qr": qr.svg(url),
    }


class PlatePrintView(LoginRequiredMixin, View):
    """One plate, A6."""

    def get(self, request, pk):
        plate = get_object_or_404(
            Plate.objects.visible_to(request.user)
            .active()
            .select_related("toilet__village__parent"),
            pk=pk,
        )
        contact = services.contact_for(plate.toilet.village)
        return render(
            request,
            "public/plate_print.html",
            {"cards": [_plate_card(request, plate, contact)], "sheet": "a6"},
        )


class PlateIndexView(LoginRequiredMixin, View):
    """The villages of the user's region with their toilets in use and plates in force."""

    def get(self, request):
        user = request.user
        villages = Region.objects.visible_to(user).villages().current().select_related("parent")
        toilets = dict(
            Toilet.objects.visible_to(user)
            .active()
            .values_list("village_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        plates = dict(
            Plate.objects.visible_to(user)
            .active()
            .filter(toilet__status="active")
            .values_list("toilet__village_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        rows = [(v, toilets.get(v.pk, 0), plates.get(v.pk, 0)) for v in villages.order_by("code")]
        return render(request, "public/plate_index.html", {"rows": rows})


class VillagePlatesView(LoginRequiredMixin, View):
    """A village's toilets and their plates; make the missing ones; print them all on A4."""

    def get(self, request, code):
        village = _village(request, code)
        toilets = (
            Toilet.objects.visible_to(request.user)
            .active()
            .filter(village=village)
            .select_related("household")
            .order_by("household__group_name", "household__head_name", "pk")
        )
        plates = {
            p.toilet_id: p
            for p in Plate.objects.visible_to(request.user).active().filter(toilet__village=village)
        }
        rows = [(t, plates.get(t.pk)) for t in toilets]
        return render(
            request,
            "public/village_plates.html",
            {
                "village": village,
                "rows": rows,
                "missing": sum(1 for _, p in rows if p is None),
                "can_act": services.can_handle_leads(request.user),
            },
        )

    def post(self, request, code):
        village = _village(request, code)
        try:
            made = services.issue_village_plates(actor=request.user, village=village)
        except PermissionDenied as exc:
            raise Http404 from exc
        messages.success(request, f"已为 {made} 个厕所生成标识牌。")
        return redirect("public:village-plates", code=village.code)


class VillagePlatesPrintView(LoginRequiredMixin, View):
    """Every plate in force of a village, four to an A4 page with cut marks."""

    def get(self, request, code):
        village = _village(request, code)
        contact = services.contact_for(village)
        plates = (
            Plate.objects.visible_to(request.user)
            .active()
            .filter(toilet__village=village, toilet__status="active")
            .select_related("toilet__village__parent")
            .order_by("toilet__household__group_name", "toilet__household__head_name", "pk")
        )
        cards = [_plate_card(request, p, contact) for p in plates]
        pages = [cards[i : i + 4] for i in range(0, len(cards), 4)]
        return render(
            request,
            "public/plate_print.html",
            {"pages": pages, "cards": cards, "sheet": "a4", "village": village},
        )


# The township's service phone ------------------------------------------------------------------


class ContactView(LoginRequiredMixin, View):
    """The service and 举报 phones of the user's township (a county user picks a township)."""

    def township(self, request):
        scope = scope_of(request.user)
        code = request.GET.get("township") or (
            scope.region.code
            if scope and scope.region and scope.region.level == Level.TOWNSHIP
            else ""
        )
        if not code:
            return None
        return get_object_or_404(
            Region.objects.visible_to(request.user).filter(level=Level.TOWNSHIP), code=code
        )

    def render_page(self, request, township, form=None, status=200):
        townships = Region.objects.visible_to(request.user).filter(level=Level.TOWNSHIP)
        contacts = {c.township_id: c for c in ServiceContact.objects.visible_to(request.user)}
        if form is None and township is not None:
            contact = contacts.get(township.pk)
            form = ContactForm(
                initial={
                    "service_phone": contact.service_phone if contact else "",
                    "complaint_phone": contact.complaint_phone if contact else "",
                }
            )
        return render(
            request,
            "public/contact.html",
            {
                "township": township,
                "form": form,
                "rows": [(t, contacts.get(t.pk)) for t in townships],
                "can_edit": township is not None
                and services.can_edit_contact(request.user, township),
            },
            status=status,
        )

    def get(self, request):
        return self.render_page(request, self.township(request))

    def post(self, request):
        township = self.township(request)
        if township is None:
            raise Http404
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                services.save_contact(actor=request.user, township=township, **form.cleaned_data)
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, f"{township.name}的服务电话已保存。")
                return redirect(f"{reverse('public:contact')}?township={township.code}")
        return self.render_page(request, township, form, status=400)


# 受益户公示 --------------------------------------------------------------------------------------


class PostingListView(LoginRequiredMixin, View):
    def villages(self, request):
        return Region.objects.visible_to(request.user).villages().current().order_by("code")

    def render_page(self, request, form=None, status=200):
        today = timezone.localdate()
        if form is None:
            form = PostingForm(
                villages=self.villages(request),
                initial={
                    "year": today.year,
                    "starts_on": today,
                    "ends_on": today + datetime.timedelta(days=6),
                },
            )
        postings = Posting.objects.visible_to(request.user).select_related("village__parent")
        return render(
            request,
            "public/posting_list.html",
            {
                "form": form,
                "postings": postings,
                "can_act": services.can_handle_leads(request.user),
            },
            status=status,
        )

    def get(self, request):
        return self.render_page(request)

    def post(self, request):
        form = PostingForm(request.POST, villages=self.villages(request))
        if form.is_valid():
            data = form.cleaned_data
            village = get_object_or_404(self.villages(request), code=data["village"])
            try:
                posting = services.draw_up_posting(
                    actor=request.user,
                    village=village,
                    year=data["year"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    complaint_phone=data["complaint_phone"],
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ConflictError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, "公示名单已生成，请打印后张贴，并登记张贴情况。")
                return redirect("public:posting", pk=posting.pk)
        return self.render_page(request, form, status=400)


def _posting(request, pk) -> Posting:
    return get_object_or_404(
        Posting.objects.visible_to(request.user).select_related("village__parent", "posted_by"),
        pk=pk,
    )


class PostingDetailView(LoginRequiredMixin, View):
    def get(self, request, pk, form=None, status=200):
        posting = _posting(request, pk)
        objections = Lead.objects.visible_to(request.user).filter(posting=posting)
        return render(
            request,
            "public/posting_detail.html",
            {
                "posting": posting,
                "form": form or PostedForm(initial={"posted_on": timezone.localdate()}),
                "objections": objections,
                "can_act": services.can_handle_leads(request.user),
            },
            status=status,
        )

    def post(self, request, pk):
        posting = _posting(request, pk)
        form = PostedForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.record_posted(
                    actor=request.user,
                    posting=posting,
                    posted_on=form.cleaned_data["posted_on"],
                    photo=form.cleaned_data["photo"],
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ConflictError as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                put_errors(form, exc)
            else:
                messages.success(request, "已登记张贴。")
                return redirect("public:posting", pk=posting.pk)
        return self.get(request, pk, form, status=400)


class PostingPrintView(LoginRequiredMixin, View):
    def get(self, request, pk):
        posting = _posting(request, pk)
        url = qr.absolute_url(request, reverse("public:objection", args=[posting.token]))
        return render(
            request,
            "public/posting_print.html",
            {"posting": posting, "qr": qr.svg(url), "url": url},
        )


class PostingPhotoView(LoginRequiredMixin, View):
    def get(self, request, pk):
        posting = _posting(request, pk)
        if not posting.posted_photo:
            raise Http404
        return private_image(posting.posted_photo)
