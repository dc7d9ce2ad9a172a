"""Show ID and phone numbers in full only to roles that need them (context: show_identity)."""

from django import template

from toilets.identity import mask_id_number, mask_phone

register = template.Library()


@register.simple_tag(takes_context=True)
def id_number(context, value):
    return value if context.get("show_identity") else mask_id_number(value or "")


@register.simple_tag(takes_context=True)
def phone(context, value):
    if not value:
        return ""
    return value if context.get("show_identity") else mask_phone(value)
