from django.urls import reverse

from .services import can_handle_leads


def plate_link(*, user, toilet) -> list[dict]:
    """The toilet page's 服务标识牌 link (receiver of ``toilets.hooks.toilet_links``)."""
    if not can_handle_leads(user):
        return []
    url = reverse("public:toilet-plates", args=[toilet.pk])
    return [{"label": "服务标识牌", "url": url, "primary": False, "css": "plate-link"}]
