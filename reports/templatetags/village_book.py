"""``{% village_book_form region survey_round %}``: the 生成一村一册 form on the village page
(choose the round) and on a township's or county's round page (choose the village). It posts
to ``reports:job-start``, which checks the scope again and opens the job's progress page."""

from django import template

from regions.choices import Level

from ..book import VILLAGE_BOOK, book_rounds, book_villages

register = template.Library()


@register.inclusion_tag("reports/book/start_form.html", takes_context=True)
def village_book_form(context, region, survey_round=None, card=False):
    request = context["request"]
    user = request.user
    form = {
        "kind": VILLAGE_BOOK,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
        "region": region,
        "round": survey_round,
        "rounds": [],
        "groups": [],
        "card": card,  # in a card of its own (the round pages)
    }
    if region.level == Level.VILLAGE:
        form["rounds"] = book_rounds(user, region)
    elif survey_round is not None and region.level in (Level.TOWNSHIP, Level.COUNTY):
        form["groups"] = book_villages(user, region)
    form["shown"] = bool(form["rounds"] or form["groups"])
    return form
