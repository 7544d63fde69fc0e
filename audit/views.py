"""The compliance officers' pages: search, one event, exports, verification,
figures. Staff only; every search and every export is itself an audit event."""

import json
from datetime import date, timedelta
from typing import cast
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit import charts, figures
from audit.actors import staff_actor
from audit.chain import CONTENT_FIELDS, event_hash
from audit.export import COMPLETED, EXPORTED, export_manifest, start_export
from audit.forms import EventFilterForm, ExportForm
from audit.http import export_response
from audit.models import AuditEvent, Checkpoint, PendingEvent
from audit.selectors import EventFilters, latest_verification, search_events
from audit.services import record_event, record_search, verify_audit_log
from audit.staff import officer_required


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@officer_required
def search(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    page = None
    if not request.GET or form.is_valid():
        filters = form.filters() if request.GET else EventFilters()
        before, after = _int_param(request, "before"), _int_param(request, "after")
        page = search_events(filters, before=before, after=after)
        record_search(
            actor=staff_actor(request.user),
            filters=filters,
            page={"before": before, "after": after, "shown": len(page.events)},
        )
    query = request.GET.copy()
    for name in ("before", "after"):
        query.pop(name, None)
    return render(
        request,
        "audit/search.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@officer_required
def event_detail(request: HttpRequest, sequence: int) -> HttpResponse:
    event = AuditEvent.objects.filter(sequence=sequence).first()
    if event is None:
        raise Http404
    fields = {name: getattr(event, name) for name in CONTENT_FIELDS}
    intact = event_hash(sequence=sequence, **fields, prev_hash=event.prev_hash) == (
        event.hash
    )
    links_back = (
        sequence == 1
        or AuditEvent.objects.filter(
            sequence=sequence - 1, hash=event.prev_hash
        ).exists()
    )
    with transaction.atomic():
        record_event(
            action="audit.viewed",
            actor=staff_actor(request.user),
            payload={"sequence": sequence},
        )
    return render(
        request,
        "audit/event.html",
        {
            "event": event,
            "payload": json.dumps(event.payload, indent=2, ensure_ascii=False),
            "intact": intact,
            "links_back": links_back,
            "has_next": AuditEvent.objects.filter(sequence=sequence + 1).exists(),
            "checkpoint": Checkpoint.objects.filter(size__gte=sequence)
            .order_by("size")
            .first(),
        },
    )


def _recent_exports(limit: int = 20) -> list[dict]:
    started = list(
        AuditEvent.objects.filter(action=EXPORTED)
        .order_by("-sequence")
        .values("sequence", "occurred_at", "actor", "payload")[:limit]
    )
    ids = [row["payload"]["export_id"] for row in started]
    done = {
        row["export_id"]: row
        for row in AuditEvent.objects.filter(
            action=COMPLETED, payload__export_id__in=ids
        ).values_list("payload", flat=True)
    }
    return [
        {**row, "completed": done.get(row["payload"]["export_id"])} for row in started
    ]


@officer_required
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponseBase:
    """GET: the export form (pre-filled from a search) and recent exports;
    POST: the export itself, streamed as a download."""
    if request.method == "POST":
        form = ExportForm(request.POST)
        if form.is_valid():
            export = start_export(
                filters=form.filters(),
                fmt=form.cleaned_data["format"],
                actor=staff_actor(request.user),
            )
            return export_response(
                export, reverse("audit:manifest", args=[export.export_id])
            )
    else:
        form = ExportForm(initial=request.GET.dict())
    return render(
        request, "audit/exports.html", {"form": form, "exports": _recent_exports()}
    )


@officer_required
def manifest(request: HttpRequest, export_id: UUID) -> JsonResponse:
    document = export_manifest(export_id)
    if document is None:
        raise Http404
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    filename = f"audit-export-{export_id}.manifest.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@officer_required
def verification(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "audit/verification.html",
        {
            "result": latest_verification(),
            "checkpoint": Checkpoint.objects.order_by("-size").first(),
            "head": AuditEvent.objects.order_by("-sequence").first(),
            "staged": PendingEvent.objects.count(),
        },
    )


@officer_required
@require_POST
def verify_now(request: HttpRequest) -> HttpResponse:
    result = verify_audit_log(actor=staff_actor(request.user))
    if result.ok:
        messages.success(request, _("The audit trail verified."))
    else:
        messages.error(request, _("The audit trail does NOT verify."))
    return redirect("audit:verification")


_SERIES_NAMES = {
    "granted": gettext_lazy("Grants"),
    "revoked": gettext_lazy("Revocations"),
    "expired": gettext_lazy("Expiries"),
    "allowed": gettext_lazy("Checks allowed"),
    "denied": gettext_lazy("Checks denied"),
}
_PERIODS = (7, 30, 90, 365)


@officer_required
def figures_page(request: HttpRequest) -> HttpResponse:
    days = _int_param(request, "days") or 30
    days = days if days in _PERIODS else 30
    tz = timezone.get_current_timezone()
    start, end = figures.period(days, timezone.now(), tz)
    names = {key: str(label) for key, label in _SERIES_NAMES.items()}
    daily = figures.per_day(start, end, tz)
    consent_names = {k: names[k] for k in ("granted", "revoked", "expired")}
    check_names = {k: names[k] for k in ("allowed", "denied")}
    labels = [cast(date, row.key).strftime("%m-%d") for row in daily]  # days

    def line(title: str, series_names: dict[str, str]):
        series = {k: [row.counts[k] for row in daily] for k in series_names}
        return charts.line_chart(
            title=title, labels=labels, series=series, names=series_names
        )

    def bars(title: str, rows: list[figures.Row]):
        return charts.bar_chart(
            title=title,
            rows=[(str(row.key), row.counts) for row in rows],
            names=names,
        )

    acks = figures.time_to_acknowledge(start, end)
    bucket_labels = [
        _("under 1 minute"),
        _("1 to 5 minutes"),
        _("5 to 60 minutes"),
        _("1 to 24 hours"),
        _("over a day"),
    ]
    ack_rows = [
        (label, {"count": count})
        for label, count in zip(bucket_labels, acks.buckets, strict=True)
    ]
    context = {
        "days": days,
        "periods": _PERIODS,
        "start": start,
        "last_day": end - timedelta(days=1),
        "daily_consents": line(_("Consents per day"), consent_names),
        "daily_checks": line(_("Checks per day"), check_names),
        "by_purpose": bars(_("Per purpose"), figures.per_purpose(start, end)),
        "by_recipient": bars(_("Per recipient"), figures.per_recipient(start, end)),
        "acks": acks,
        "ack_chart": charts.bar_chart(
            title=_("Revocation time to acknowledge"),
            rows=ack_rows,
            names={"count": _("Revocations")},
        ),
        "daily": daily,
        "totals": [(names[k], sum(row.counts[k] for row in daily)) for k in names],
        "names": names,
    }
    return render(request, "audit/figures.html", context)
