"""A DRF permission that checks consent before the view runs.

    class StatementView(APIView):
        permission_classes = [IsAuthenticated, ConsentRequired]
        consent_purpose = "spending-analysis"
        consent_scopes = ["bank.deposit"]

        def consent_subject_ref(self, request):
            return request.user.customer_ref

The allowed check is kept as `request.consent_decision`. A denial is a 403 whose
detail names the reason; an unreachable platform is a 503 (fails closed).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from cmp.client.django import ConsentDenied, check_request


class ConsentUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "the consent check could not be made"
    default_code = "consent_check_unavailable"


class ConsentRequired(BasePermission):
    """Reads `consent_purpose`, `consent_scopes`, `consent_subject_ref(request)`
    and optionally `consent_counterparty` from the view."""

    def has_permission(self, request: Any, view: Any) -> bool:
        try:
            check_request(
                request,
                purpose=view.consent_purpose,
                scopes=view.consent_scopes,
                subject_ref=view.consent_subject_ref,
                counterparty=getattr(view, "consent_counterparty", None),
            )
        except ConsentDenied as denied:
            if denied.result is None:
                raise ConsentUnavailable(str(denied.error)) from denied
            raise exceptions.PermissionDenied(
                f"no consent allows this: {denied.result.reason}",
                code="consent_denied",
            ) from denied
        return True
