"""Officers' filters for searching and exporting, shared by pages, API and CLI."""

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from audit.export_format import FORMATS
from audit.selectors import EventFilters


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date-time, or a date meaning its midnight in TIME_ZONE (with
    `end_of_day`, the next midnight, so `until=2026-11-30` includes that day)."""
    text = text.strip()
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(f"{text!r} is not a date or date-time")
        if end_of_day:
            day += timedelta(days=1)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class MomentField(forms.Field):
    def __init__(self, *, end_of_day: bool = False, **kwargs) -> None:
        self.end_of_day = end_of_day
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        try:
            if len(text) > 40:
                raise ValueError("too long")
            return parse_moment(text, end_of_day=self.end_of_day)
        except ValueError as exc:
            raise forms.ValidationError(
                _("Enter a date (2026-11-30) or a date and time."), code="invalid"
            ) from exc


class EventFilterForm(forms.Form):
    since = MomentField(label=_("From"))
    until = MomentField(label=_("Until"), end_of_day=True)
    subject = forms.CharField(
        label=_("Subject (pseudonym)"), required=False, max_length=64
    )
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=32)
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=100)
    action = forms.CharField(label=_("Action"), required=False, max_length=64)

    def clean(self):
        data = cast(dict[str, Any], super().clean())  # Form.clean: the cleaned_data
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", _("Must be later than the start."))
        return data

    def filters(self) -> EventFilters:
        data = self.cleaned_data
        return EventFilters(
            since=data.get("since"),
            until=data.get("until"),
            **{name: (data.get(name) or "").strip() for name in _TEXT_FIELDS},
        )


_TEXT_FIELDS = ("subject", "recipient", "purpose", "action")


class ExportForm(EventFilterForm):
    format = forms.ChoiceField(
        label=_("Format"), choices=[(f, f.upper()) for f in FORMATS], initial="jsonl"
    )


class InvalidQuery(ValueError):
    """Filters that do not parse; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid audit query")
        self.errors = errors


def parse_export_query(data: Mapping[str, Any]) -> tuple[str, EventFilters]:
    """An export's format and filters, read as the officers' pages read them."""
    form = ExportForm(data)
    if not form.is_valid():
        raise InvalidQuery(
            {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        )
    return form.cleaned_data["format"], form.filters()
