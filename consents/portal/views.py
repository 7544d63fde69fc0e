"""The person's pages. Thin: reads through selectors, writes through services.

Another person's consent or request is simply not found (404), never forbidden.
"""

from collections.abc import Callable
from functools import wraps
from itertools import groupby
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import ChoiceField
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.actors import Actor
from consents import receipts, selectors, services
from consents.errors import ConsentError
from consents.models import Consent, ConsentRequest, DataSubject, Organization, Scope
from consents.portal import forms
from consents.portal.middleware import SESSION_TIME_ZONE

View = Callable[..., HttpResponse]

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import StrOrPromise

    class PersonRequest(HttpRequest):
        """A request past `person_required`."""

        user: User
        subject: DataSubject
else:
    PersonRequest = HttpRequest


def person_required(view: View) -> View:
    """Signed in as a person: `request.subject` is theirs from here on."""

    @login_required
    @wraps(view)
    def wrapper(request: PersonRequest, *args, **kwargs) -> HttpResponse:
        subject = DataSubject.objects.filter(user=request.user).first()
        if subject is None:
            # A staff account: it has no consents of its own to show.
            return render(request, "portal/no_subject.html", status=403)
        request.subject = subject
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: PersonRequest) -> Actor:
    return Actor("subject", request.subject.pseudonym)


def _own_consent(request: PersonRequest, consent_id: UUID) -> Consent:
    consent = selectors.consent_for_subject(request.subject, consent_id)
    if consent is None:
        raise Http404
    return consent


def _timeline_page(request: PersonRequest, **criteria) -> selectors.TimelinePage:
    form = forms.TimelineForm(request.GET)
    before = form.cleaned_data["before"] if form.is_valid() else None
    return selectors.subject_timeline(request.subject, before=before, **criteria)


@require_GET
@person_required
def consent_list(request: PersonRequest) -> HttpResponse:
    """Every consent, grouped by recipient, optionally of one status."""
    form = forms.ConsentFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    consents = selectors.consents_for_subject(request.subject, status=status or None)
    groups = [
        {"recipient": recipient, "consents": list(items)}
        for recipient, items in groupby(consents, key=lambda c: c.recipient)
    ]
    for group in groups:
        group["live"] = [c for c in group["consents"] if not c.is_terminal]
    return render(
        request,
        "portal/consent_list.html",
        {
            "groups": groups,
            "status": status,
            "filters": cast(ChoiceField, form.fields["status"]).choices,
        },
    )


@require_GET
@person_required
def consent_detail(request: PersonRequest, consent_id: UUID) -> HttpResponse:
    consent = _own_consent(request, consent_id)
    history = _timeline_page(request, actions=None, consent_id=consent.id)
    return render(
        request, "portal/consent_detail.html", {"consent": consent, "history": history}
    )


@require_GET
@person_required
def consent_receipt(request: PersonRequest, consent_id: UUID) -> HttpResponse:
    """The signed receipt (compact JWS) with its claims, as a file to keep."""
    consent = _own_consent(request, consent_id)
    body = {
        "receipt": receipts.consent_receipt(consent),
        "claims": receipts.receipt_claims(consent),
        "verify_with": request.build_absolute_uri(reverse("jwks")),
    }
    response = JsonResponse(
        body, json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Content-Disposition"] = (
        f'attachment; filename="consent-receipt-{consent.id}.json"'
    )
    return response


def _change(request: HttpRequest, change: Callable[[], object], done: str) -> None:
    """Run a service call for the person; a refusal becomes a message, not a 500."""
    try:
        change()
    except ConsentError:
        # A stale page or a second click: the consent has moved on meanwhile.
        messages.error(
            request, _("Nothing changed: the consent's status does not allow it.")
        )
    else:
        messages.success(request, done)


@require_http_methods(["GET", "POST"])
@person_required
def consent_revoke(request: PersonRequest, consent_id: UUID) -> HttpResponse:
    """Say what revoking does, then revoke on the person's confirmation."""
    consent = _own_consent(request, consent_id)
    if request.method == "POST" and not consent.is_terminal:
        _change(
            request,
            lambda: services.revoke_consent(
                consent_id=consent.id,
                actor=_actor(request),
                reason="revoked by the person in the portal",
            ),
            _("Consent revoked. %(recipient)s can no longer use this data.")
            % {"recipient": consent.recipient.name},
        )
    if request.method == "POST" or consent.is_terminal:
        return redirect("portal:consent", consent_id=consent.id)
    return render(request, "portal/consent_revoke.html", {"consent": consent})


def _status_view(
    service: Callable[..., Consent], reason: str, done: "StrOrPromise"
) -> View:
    """A POST that pauses or resumes the person's consent, then shows it."""

    @require_POST
    @person_required
    def change(request: PersonRequest, consent_id: UUID) -> HttpResponse:
        consent = _own_consent(request, consent_id)
        _change(
            request,
            lambda: service(
                consent_id=consent.id, actor=_actor(request), reason=reason
            ),
            str(done),
        )
        return redirect("portal:consent", consent_id=consent.id)

    return change


consent_pause = _status_view(
    services.pause_consent,
    "paused in the portal",
    gettext_lazy("Consent paused. Nobody may use this data until you resume it."),
)
consent_resume = _status_view(
    services.resume_consent, "resumed in the portal", gettext_lazy("Consent resumed.")
)


@require_http_methods(["GET", "POST"])
@person_required
def recipient_revoke(request: PersonRequest, code: str) -> HttpResponse:
    """Revoke every live consent given to one recipient, in one step."""
    recipient = get_object_or_404(Organization, code=code)
    consents = list(selectors.consents_for_subject(request.subject, recipient=code))
    if not consents:
        raise Http404
    live = [consent for consent in consents if not consent.is_terminal]
    if request.method == "POST" and live:
        _change(
            request,
            lambda: services.revoke_recipient_consents(
                subject=request.subject,
                recipient=recipient,
                actor=_actor(request),
                reason="revoked by the person in the portal (all for this recipient)",
            ),
            _("Every consent to %(recipient)s is revoked.")
            % {"recipient": recipient.name},
        )
    if request.method == "POST" or not live:
        return redirect("portal:consents")
    return render(
        request,
        "portal/recipient_revoke.html",
        {"recipient": recipient, "consents": live},
    )


@require_GET
@person_required
def activity(request: PersonRequest) -> HttpResponse:
    """Every check and transfer on the person's data, newest first."""
    recipients = Organization.objects.filter(
        consents_received__subject=request.subject
    ).distinct()
    form = forms.ActivityFilterForm(request.GET, recipients=recipients.order_by("name"))
    recipient = form.cleaned_data["recipient"] if form.is_valid() else ""
    page = _timeline_page(request, recipient=recipient or None)
    return render(
        request,
        "portal/activity.html",
        {"page": page, "form": form, "recipient": recipient},
    )


def _return_url(consent_request: ConsentRequest) -> str:
    """The recipient's redirect_uri with `state` and the outcome added."""
    status = consent_request.status
    if status == ConsentRequest.Status.PENDING:  # unanswered past its expiry
        status = ConsentRequest.Status.EXPIRED
    outcome = {
        "request_id": str(consent_request.id),
        "outcome": status,
        "state": consent_request.state,
    }
    if consent_request.consent is not None:
        outcome["consent_id"] = str(consent_request.consent_id)
        outcome["scopes"] = " ".join(consent_request.consent.scope_codes)
    parts = urlsplit(consent_request.redirect_uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *outcome.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _answer(
    request: PersonRequest, consent_request: ConsentRequest, decision: str, chosen
) -> None:
    if decision == forms.DENY:
        services.deny_consent_request(
            request_id=consent_request.id, subject=request.subject
        )
    else:
        services.approve_consent_request(
            request_id=consent_request.id, subject=request.subject, scope_codes=chosen
        )


@require_http_methods(["GET", "POST"])
@person_required
def consent_request(request: PersonRequest, request_id: UUID) -> HttpResponse:
    """A recipient's request: approve all, approve some scopes, or deny.

    Then the person goes back to the recipient's `redirect_uri` with the outcome.
    """
    consent_request = selectors.consent_request_for_subject(request.subject, request_id)
    if consent_request is None:
        raise Http404
    requested = sorted(
        Scope.objects.filter(code__in=consent_request.scope_codes),
        key=lambda scope: (scope.sensitive, scope.code),
    )
    is_open = (
        consent_request.status == ConsentRequest.Status.PENDING
        and timezone.now() < consent_request.expires_at
    )
    answering = is_open and request.method == "POST"
    form = forms.ConsentRequestForm(
        request.POST if answering else None, requested=requested
    )
    if answering and form.is_valid():
        data = form.cleaned_data
        try:
            _answer(request, consent_request, data["decision"], data.get("chosen"))
        except ConsentError:
            form.add_error(
                None, _("This request cannot be answered any more. Nothing changed.")
            )
        else:
            consent_request.refresh_from_db()
            return redirect(_return_url(consent_request))
    context = {
        "consent_request": consent_request,
        "is_open": is_open,
        "form": form,
        "plain_scopes": [scope for scope in requested if not scope.sensitive],
        "sensitive_scopes": [scope for scope in requested if scope.sensitive],
        "holders": Organization.objects.filter(
            code__in=consent_request.holder_codes
        ).order_by("name"),
        "return_url": None if is_open else _return_url(consent_request),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "portal/consent_request.html", context, status=status)


@require_http_methods(["GET", "POST"])
@person_required
def preferences(request: PersonRequest) -> HttpResponse:
    initial = {"time_zone": request.subject.time_zone}
    form = forms.PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["time_zone"]
        services.set_subject_time_zone(subject=request.subject, time_zone=zone)
        request.session[SESSION_TIME_ZONE] = zone
        messages.success(request, _("Preferences saved."))
        return redirect("portal:preferences")
    return render(request, "portal/preferences.html", {"form": form})
