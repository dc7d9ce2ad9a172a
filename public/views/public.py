"""The public pages (no login): a plate's page with its two forms, the lookup page, a 公示's
objection form. They show the listed public facts only, set no cookie but CSRF's, and load no
script but our own static file."""

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.errors import ConflictError
from core.web.forms import put_errors
from core.web.page_throttling import page_throttle_message, page_throttle_wait

from ..forms import LookupForm, MaintenanceForm, ObjectionForm, ReportForm
from ..models import Lead, Posting
from ..queries import active_plate, public_facts, public_progress
from ..services import Filing, contact_for, file_lead, file_objection

FORMS = {"report": ReportForm, "maintenance": MaintenanceForm}


def _throttled(request, *checks):
    """The Chinese message and the wait when any (scope, rate, ident) check is over its rate."""
    for scope, rate, ident in checks:
        wait = page_throttle_wait(request, scope, rate, ident=ident)
        if wait is not None:
            return wait
    return None


def _too_many(request, template, context, wait):
    context["throttled"] = f"提交{page_throttle_message(wait)}如情况紧急，请直接拨打服务电话。"
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _filing(form) -> Filing:
    data = form.cleaned_data
    return Filing(
        kind=getattr(form, "kind", ""),
        category=data.get("category", ""),
        description=data["description"],
        phone=data.get("phone", ""),
        photo=data.get("photo"),
    )


@require_http_methods(["GET", "POST"])
def plate_page(request, token):
    plate = active_plate(token)
    if plate is None:
        raise Http404("标识牌不存在或已作废")
    contact = contact_for(plate.toilet.village)
    forms = {name: cls(prefix=name) for name, cls in FORMS.items()}
    context = {"facts": public_facts(plate, contact), "forms": forms, "token": token}
    if request.method == "GET":
        return render(request, "public/plate.html", context)

    which = request.POST.get("which")
    if which not in FORMS:
        raise Http404
    form = FORMS[which](request.POST, request.FILES, prefix=which)
    forms[which] = form
    context["open"] = which
    return _file(
        request, "public/plate.html", context, form,
        ("public-lead-toilet", f"toilet-{plate.toilet_id}"),
        lambda filing: file_lead(plate=plate, filing=filing),
    )  # fmt: skip


def _file(request, template, context, form, per_object, filer):
    """A public form's POST: throttled per IP and per object (``per_object``: the throttle's
    name and key), the honeypot, then ``filer(filing)``; its lead's 查询码 page, or the form
    again with every refusal."""
    name, key = per_object
    wait = _throttled(
        request,
        ("public-lead", settings.PUBLIC_LEAD_RATE_IP, None),
        (name, settings.PUBLIC_LEAD_RATE_TOILET, key),
    )
    if wait is not None:
        return _too_many(request, template, context, wait)
    if form.is_spam:
        form.add_error(None, "提交未成功，请稍后重试。")
        return render(request, template, context, status=400)
    if form.is_valid():
        try:
            lead = filer(_filing(form))
        except ValidationError as exc:
            put_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, "public/filed.html", {"lead": lead})
    return render(request, template, context, status=400)


@require_http_methods(["GET", "POST"])
def lookup(request):
    """Enter a code, see its lead. A code nobody has answers 404, the same page whatever it
    is: no count, no near match, nothing about other codes."""
    source = request.POST if request.method == "POST" else request.GET
    if "code" not in source:
        return render(request, "public/lookup.html", {"form": LookupForm()})
    form = LookupForm(source)
    wait = _throttled(request, ("public-lookup", settings.PUBLIC_LOOKUP_RATE, None))
    if wait is not None:
        return _too_many(request, "public/lookup.html", {"form": form}, wait)
    if not form.is_valid():
        return render(request, "public/lookup.html", {"form": form}, status=400)
    lead = (
        Lead.objects.select_related("village__parent")
        .filter(code=form.cleaned_data["code"])
        .first()
    )
    if lead is None:
        form.add_error("code", "未找到该查询码，请核对后重新输入。")
        return render(request, "public/lookup.html", {"form": form}, status=404)
    return render(
        request,
        "public/lookup_result.html",
        {"lead": lead, "progress": public_progress(lead), "form": LookupForm()},
    )


@require_http_methods(["GET", "POST"])
def objection_page(request, token):
    posting = Posting.objects.select_related("village__parent").filter(token=token).first()
    if posting is None:
        raise Http404
    form = ObjectionForm(request.POST or None, request.FILES or None)
    context = {"posting": posting, "form": form}
    if request.method == "GET":
        return render(request, "public/objection.html", context)
    return _file(
        request, "public/objection.html", context, form,
        ("public-lead-posting", f"posting-{posting.pk}"),
        lambda filing: file_objection(posting=posting, filing=filing),
    )  # fmt: skip
