"""The recipient's views: one plain Django view, one DRF view, one webhook."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from cmp.client.django import consent_required, webhook_view
from cmp.client.drf import ConsentRequired


def _customer(request) -> str:
    return request.GET["customer"]


@consent_required(
    purpose="spending-analysis", scopes=["bank.deposit"], subject_ref=_customer
)
def statement(request):
    """Runs only after an allowed check; shows which decision allowed it."""
    return JsonResponse({"decision_id": request.consent_decision.decision_id})


class InsightsView(APIView):
    permission_classes = [ConsentRequired]
    consent_purpose = "spending-analysis"
    consent_scopes = ["bank.deposit"]

    def consent_subject_ref(self, request) -> str:
        return _customer(request)

    def get(self, request):
        return Response({"decision_id": request.consent_decision.decision_id})


def remember(payload: dict) -> None:
    """Stop processing: here, note the notice where the test can read it."""
    with open(settings.NOTICES_FILE, "a", encoding="utf-8") as notices:
        notices.write(json.dumps(payload) + "\n")


urlpatterns = [
    path("statement/", statement),
    path("insights/", InsightsView.as_view()),
    path("hooks/", webhook_view({"consent.revoked": remember})),
]
