"""Plain words for the portal: names in the page's language, statuses, reasons."""

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from consents.portal.labels import LABELS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

register = template.Library()


def _suffix() -> str:
    return "en" if (get_language() or "ko").startswith("en") else "ko"


@register.filter
def localized(obj, field: str = "name") -> str:
    """`obj.name_ko` or `obj.name_en` (or another field's pair) for the page."""
    return getattr(obj, f"{field}_{_suffix()}", "") if obj is not None else ""


@register.filter
def label(value: str | None, kind: str) -> "StrOrPromise":
    """`{{ consent.status|label:"status" }}`: the plain words for a stored code."""
    return LABELS[kind].get(value, value or "")


@register.filter
def days_left(moment: datetime) -> int:
    """Whole days until `moment`, counting a part day as one; 0 once past."""
    seconds = (moment - timezone.now()).total_seconds()
    return max(0, math.ceil(seconds / 86400))


@register.filter
def minutes(duration: timedelta) -> int:
    return math.ceil(duration.total_seconds() / 60)
