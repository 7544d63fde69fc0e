"""Webhook endpoints, delivery history, replays and acknowledgements."""

from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from api.organizations import serializers as s
from api.organizations.views import OrganizationView
from consents import selectors
from consents.services import acknowledgements, endpoints
from consents.webhooks.models import Delivery, WebhookEndpoint


class WebhookEndpointCollectionView(OrganizationView):
    answer_holds_secret = True  # the signing secret, shown once
    required_scopes = ["webhooks:manage"]
    throttle_scope = "write"

    @extend_schema(
        operation_id="webhook_endpoints_list",
        responses=s.WebhookEndpointOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The caller's endpoints, active and disabled (never their secrets)."""
        rows = selectors.endpoints_of(self.organization)
        return Response(s.WebhookEndpointOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=s.WebhookEndpointInputSerializer,
        responses={201: s.WebhookEndpointCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Register an endpoint; the answer carries its signing secret, once."""
        data = self.valid(s.WebhookEndpointInputSerializer, request.data)
        endpoint, secret = endpoints.register_webhook_endpoint(
            organization=self.organization,
            url=data["url"],
            actor=self.actor,
            event_types=data.get("event_types"),
            sign_ed25519=data["sign_ed25519"],
            description=data.get("description", ""),
        )
        endpoint.secret = secret  # type: ignore[attr-defined]  # for the serializer
        body = s.WebhookEndpointCreatedOutputSerializer(endpoint).data
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(OrganizationView):
    required_scopes = ["webhooks:manage"]
    throttle_scope = "write"

    def _own(self, endpoint_id: UUID) -> WebhookEndpoint:
        endpoint = (
            selectors.endpoints_of(self.organization).filter(pk=endpoint_id).first()
        )
        if endpoint is None:
            raise Http404
        return endpoint

    @extend_schema(responses=s.WebhookEndpointOutputSerializer)
    def get(self, request: Request, endpoint_id: UUID) -> Response:
        endpoint = self._own(endpoint_id)
        return Response(s.WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, endpoint_id: UUID) -> Response:
        """Delete the endpoint: no more notices, pending ones are cancelled, and
        it is gone from this API (404 after); its deliveries stay on record."""
        endpoints.delete_webhook_endpoint(
            organization=self.organization, endpoint_id=endpoint_id, actor=self.actor
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsentDeliveriesView(OrganizationView):
    required_scopes = ["consents:read"]

    @extend_schema(
        operation_id="consent_deliveries_list",
        responses=s.DeliveryOutputSerializer(many=True),
    )
    def get(self, request: Request, consent_id: UUID) -> Response:
        """Notices about this consent to the caller's endpoints, with every attempt."""
        rows = list(
            Delivery.objects.filter(
                consent_id=consent_id, organization=self.organization
            ).prefetch_related("attempt_log")
        )
        if not rows:
            self.own_consent(consent_id)  # 404 unless the caller has a role
        return Response(s.DeliveryOutputSerializer(rows, many=True).data)


class DeliveryReplayView(OrganizationView):
    required_scopes = ["webhooks:manage"]
    throttle_scope = "write"

    @extend_schema(request=None, responses=s.DeliveryOutputSerializer)
    def post(self, request: Request, delivery_id: UUID) -> Response:
        """Send a failed delivery again, with the same webhook-id."""
        delivery = endpoints.replay_delivery(
            delivery_id=delivery_id, actor=self.actor, organization=self.organization
        )
        return Response(s.DeliveryOutputSerializer(delivery).data)


class ConsentAcknowledgeView(OrganizationView):
    required_scopes = ["consents:write"]
    throttle_scope = "write"

    @extend_schema(
        request=s.AcknowledgementInputSerializer,
        responses={
            200: s.AcknowledgementOutputSerializer,
            201: s.AcknowledgementOutputSerializer,
        },
    )
    def post(self, request: Request, consent_id: UUID) -> Response:
        """Confirm the caller stopped processing (or erased) after the consent ended."""
        data = self.valid(s.AcknowledgementInputSerializer, request.data)
        acknowledgement, created = acknowledgements.acknowledge_consent_end(
            organization=self.organization,
            consent_id=consent_id,
            action=data["action"],
        )
        body = s.AcknowledgementOutputSerializer(acknowledgement).data
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(body, status=code)
