"""The organizations' API: one thin view per operation over consents services.

Organizations call it with client-credentials tokens. The check is in `checks`,
webhook endpoints and deliveries in `webhooks`."""

from typing import cast
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import OrganizationAuthentication, OrganizationPrincipal
from api.base import ValidatingView
from api.organizations import serializers as s
from api.permissions import ORGANIZATION_SCOPED
from api.serializers import ReasonInputSerializer, ScopeOutputSerializer
from audit.actors import Actor
from consents import selectors, services
from consents.models import Consent, Organization, Scope
from consents.receipts import decision_from_transfer_token


class OrganizationView(ValidatingView):
    authentication_classes = [OrganizationAuthentication]
    permission_classes = ORGANIZATION_SCOPED

    @property
    def organization(self) -> Organization:
        return cast(OrganizationPrincipal, self.request.user).organization

    @property
    def actor(self) -> Actor:
        return Actor("organization", self.organization.code)

    def own_consent(self, consent_id: UUID) -> Consent:
        """A consent the caller has a role in; anything else is simply not found."""
        consent = selectors.consent_for_organization(self.organization, consent_id)
        if consent is None:
            raise Http404
        return consent

    def render_consent(self, consent: Consent, http_status: int = 200) -> Response:
        consent = self.own_consent(consent.id)  # fresh, with the caller's reference
        body = s.ConsentOutputSerializer(
            consent, context={"organization": self.organization}
        ).data
        return Response(body, status=http_status)


class PurposeListView(OrganizationView):
    @extend_schema(responses=s.PurposeOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        purposes = selectors.current_catalog()
        return Response(s.PurposeOutputSerializer(purposes, many=True).data)


class ScopeListView(OrganizationView):
    @extend_schema(responses=ScopeOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ScopeOutputSerializer(Scope.objects.all(), many=True).data)


class ConsentCollectionView(OrganizationView):
    throttle_scope = "write"

    @property
    def required_scopes(self) -> list[str]:  # type: ignore[override]  # only read
        return ["consents:read"] if self.request.method == "GET" else ["consents:write"]

    @extend_schema(
        operation_id="consents_list",
        parameters=[s.ConsentListQuerySerializer],
        responses=s.ConsentPageOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        """Consents in which the caller is the recipient or a named holder."""
        query = self.valid(s.ConsentListQuerySerializer, request.query_params.dict())
        consents = selectors.consents_for_organization(
            self.organization,
            subject_ref=query.get("subject_ref"),
            status=query.get("status"),
            purpose=query.get("purpose"),
        )
        return self.paginated(
            consents, s.ConsentOutputSerializer, organization=self.organization
        )

    @extend_schema(
        request=s.ConsentCreateInputSerializer,
        responses={201: s.ConsentOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Record a consent the recipient collected itself, with its evidence."""
        data = self.valid(s.ConsentCreateInputSerializer, request.data)
        consent = services.record_collected_consent(
            recipient=self.organization,
            subject_ref=data["subject_ref"],
            subject_identifier=data.get("subject_identifier"),
            purpose_code=data["purpose"],
            scope_codes=data["scopes"],
            holder_codes=data["holders"],
            evidence=data["evidence"],
            expires_at=data.get("expires_at"),
            duration_days=data.get("duration_days"),
            data_from=data.get("data_from"),
            data_to=data.get("data_to"),
            max_uses_per_day=data.get("max_uses_per_day"),
        )
        return self.render_consent(consent, status.HTTP_201_CREATED)


class ConsentDetailView(OrganizationView):
    required_scopes = ["consents:read"]

    @extend_schema(responses=s.ConsentOutputSerializer)
    def get(self, request: Request, consent_id: UUID) -> Response:
        return self.render_consent(self.own_consent(consent_id))


class ConsentStatusView(OrganizationView):
    """Base for revoke, pause and resume: the caller must have a role."""

    required_scopes = ["consents:write"]
    throttle_scope = "write"
    recipient_only = False

    def change(self, consent: Consent, reason: str) -> Consent:
        raise NotImplementedError

    @extend_schema(request=ReasonInputSerializer, responses=s.ConsentOutputSerializer)
    def post(self, request: Request, consent_id: UUID) -> Response:
        data = self.valid(ReasonInputSerializer, request.data)
        consent = self.own_consent(consent_id)
        if self.recipient_only and consent.recipient_id != self.organization.pk:
            raise PermissionDenied("only the consent's recipient may do this")
        return self.render_consent(self.change(consent, data["reason"]))


class ConsentRevokeView(ConsentStatusView):
    recipient_only = True

    def change(self, consent: Consent, reason: str) -> Consent:
        return services.revoke_consent(
            consent_id=consent.id, actor=self.actor, reason=reason
        )


class ConsentPauseView(ConsentStatusView):
    def change(self, consent: Consent, reason: str) -> Consent:
        return services.pause_consent(
            consent_id=consent.id, actor=self.actor, reason=reason
        )


class ConsentResumeView(ConsentStatusView):
    def change(self, consent: Consent, reason: str) -> Consent:
        return services.resume_consent(
            consent_id=consent.id, actor=self.actor, reason=reason
        )


class SubjectReferenceCreateView(OrganizationView):
    required_scopes = ["consents:write"]
    throttle_scope = "write"

    @extend_schema(
        request=s.SubjectReferenceInputSerializer,
        responses={201: s.SubjectReferenceOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """A holder named in a person's consent links its own reference to them."""
        data = self.valid(s.SubjectReferenceInputSerializer, request.data)
        link = services.link_holder_reference(
            holder=self.organization,
            reference=data["subject_ref"],
            identifier=data["subject_identifier"],
            actor=self.actor,
        )
        body = s.SubjectReferenceOutputSerializer(link).data
        return Response(body, status=status.HTTP_201_CREATED)


class ConsentRequestCreateView(OrganizationView):
    required_scopes = ["consent-requests:write"]
    throttle_scope = "write"

    @extend_schema(
        request=s.ConsentRequestCreateInputSerializer,
        responses={201: s.ConsentRequestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Ask a person for consent; they answer at `approve_url`."""
        data = self.valid(s.ConsentRequestCreateInputSerializer, request.data)
        consent_request = services.create_consent_request(
            recipient=self.organization,
            subject_ref=data["subject_ref"],
            purpose_code=data["purpose"],
            scope_codes=data["scopes"],
            holder_codes=data["holders"],
            duration_days=data.get("duration_days"),
            data_from=data.get("data_from"),
            data_to=data.get("data_to"),
            max_uses_per_day=data.get("max_uses_per_day"),
            redirect_uri=data["redirect_uri"],
            state=data["state"],
        )
        body = s.ConsentRequestOutputSerializer(
            consent_request, context={"request": request}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class ConsentRequestDetailView(OrganizationView):
    required_scopes = ["consent-requests:write"]

    @extend_schema(responses=s.ConsentRequestOutputSerializer)
    def get(self, request: Request, request_id: UUID) -> Response:
        consent_request = selectors.consent_request_for_recipient(
            self.organization, request_id
        )
        if consent_request is None:
            raise Http404
        body = s.ConsentRequestOutputSerializer(
            consent_request, context={"request": request}
        ).data
        return Response(body)


class TransferCreateView(OrganizationView):
    required_scopes = ["transfers:write"]
    throttle_scope = "write"

    @extend_schema(
        request=s.TransferInputSerializer, responses={201: s.TransferOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Record a transfer made after an allowed check; 409 once it is not active."""
        data = self.valid(s.TransferInputSerializer, request.data)
        decision_id = data.get("decision_id") or decision_from_transfer_token(
            data["transfer_token"]
        )
        transfer = services.record_transfer(
            reporter=self.organization,
            decision_id=decision_id,
            scope_codes=data["scopes"],
            record_count=data["record_count"],
            direction=data["direction"],
            counterparty=data.get("counterparty"),
            data_from=data.get("data_from"),
            data_to=data.get("data_to"),
        )
        body = s.TransferOutputSerializer(transfer).data
        return Response(body, status=status.HTTP_201_CREATED)
