from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from consents.models import Consent, Scope
from consents.portal.labels import STATUS_LABELS

APPROVE_ALL, APPROVE_SOME, DENY = "approve_all", "approve_some", "deny"


class ConsentFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", _("All"))]
        + [
            (status, STATUS_LABELS[status])
            for status in (
                Consent.Status.ACTIVE,
                Consent.Status.PAUSED,
                Consent.Status.REVOKED,
                Consent.Status.EXPIRED,
            )
        ],
    )


class TimelineForm(forms.Form):
    """Which page of a timeline: `before` a sequence number, or the newest."""

    before = forms.IntegerField(required=False, min_value=1)


class ActivityFilterForm(TimelineForm):
    recipient = forms.ChoiceField(required=False, label=_("Recipient"))

    def __init__(self, *args, recipients, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["recipient"]).choices = [
            ("", _("Every recipient"))
        ] + [(org.code, org.name) for org in recipients]


class ConsentRequestForm(forms.Form):
    """Approve all, approve the ticked scopes, or deny.

    Nothing is ticked in advance, and a sensitive scope is granted only when its own
    box is ticked, even by "approve all".
    """

    decision = forms.ChoiceField(
        choices=[(APPROVE_ALL, ""), (APPROVE_SOME, ""), (DENY, "")]
    )
    scopes = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, requested: list[Scope], **kwargs):
        super().__init__(*args, **kwargs)
        self.requested = requested
        cast(forms.ChoiceField, self.fields["scopes"]).choices = [
            (s.code, s.code) for s in requested
        ]

    def clean(self) -> dict:
        data = cast(dict[str, Any], super().clean())  # Form.clean: the cleaned_data
        decision, ticked = data.get("decision"), set(data.get("scopes") or ())
        if decision == APPROVE_ALL:
            unticked = [
                s for s in self.requested if s.sensitive and s.code not in ticked
            ]
            if unticked:
                raise forms.ValidationError(
                    _(
                        "Sensitive data needs its own tick. To approve all, tick "
                        "each sensitive item; to leave one out, approve only the "
                        "items you ticked."
                    ),
                    code="sensitive_not_ticked",
                )
            data["chosen"] = [s.code for s in self.requested]
        elif decision == APPROVE_SOME:
            if not ticked:
                raise forms.ValidationError(
                    _("Tick at least one item to approve, or deny the request."),
                    code="nothing_ticked",
                )
            data["chosen"] = [s.code for s in self.requested if s.code in ticked]
        return data


def _time_zone_choices() -> list[tuple[str, str]]:
    default = _("Service default (%(zone)s)") % {"zone": settings.TIME_ZONE}
    return [("", default)] + [(zone, zone) for zone in sorted(available_timezones())]


class PreferencesForm(forms.Form):
    time_zone = forms.ChoiceField(
        required=False, label=_("Time zone for dates"), choices=_time_zone_choices
    )
