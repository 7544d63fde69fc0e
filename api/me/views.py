"""The person's API (`/me/`): apps acting for one signed-in person, with tokens
the person granted them."""

from typing import cast
from urllib.parse import urlencode
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import PersonAuthentication, PersonPrincipal
from api.base import ValidatingView
from api.me import serializers as s
from api.permissions import PERSON_SCOPED
from api.serializers import ReasonInputSerializer
from audit.actors import Actor
from consents import selectors, services
from consents.models import Consent, DataSubject


class PersonView(ValidatingView):
    authentication_classes = [PersonAuthentication]
    permission_classes = PERSON_SCOPED
    required_scopes = ["me:read"]

    @property
    def subject(self) -> DataSubject:
        return cast(PersonPrincipal, self.request.user).subject

    def own_consent(self, consent_id: UUID) -> Consent:
        """The person's own consent; anybody else's is simply not found."""
        consent = selectors.consent_for_subject(self.subject, consent_id)
        if consent is None:
            raise Http404
        return consent

    def render_consent(self, consent: Consent) -> Response:
        return Response(s.PersonConsentOutputSerializer(consent).data)


class PersonConsentListView(PersonView):
    @extend_schema(
        operation_id="me_consents_list",
        parameters=[s.PersonConsentListQuerySerializer],
        responses=s.PersonConsentPageOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        """Every consent the person gave, newest first."""
        query = self.valid(
            s.PersonConsentListQuerySerializer, request.query_params.dict()
        )
        consents = selectors.consents_for_subject(
            self.subject, status=query.get("status"), recipient=query.get("recipient")
        )
        return self.paginated(consents, s.PersonConsentOutputSerializer)


class PersonConsentDetailView(PersonView):
    @extend_schema(responses=s.PersonConsentOutputSerializer)
    def get(self, request: Request, consent_id: UUID) -> Response:
        return self.render_consent(self.own_consent(consent_id))


class PersonConsentRevokeView(PersonView):
    required_scopes = ["me:write"]

    @extend_schema(
        request=ReasonInputSerializer, responses=s.PersonConsentOutputSerializer
    )
    def post(self, request: Request, consent_id: UUID) -> Response:
        """Revoke for the person: the recipient's next check is denied."""
        data = self.valid(ReasonInputSerializer, request.data)
        consent = self.own_consent(consent_id)
        services.revoke_consent(
            consent_id=consent.id,
            actor=Actor("subject", self.subject.pseudonym),
            reason=data["reason"],
        )
        return self.render_consent(self.own_consent(consent_id))


class PersonActivityView(PersonView):
    @extend_schema(
        operation_id="me_activity_list",
        parameters=[s.PersonActivityQuerySerializer],
        responses=s.PersonActivityPageOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        """Checks and transfers on the person's data, newest first."""
        query = self.valid(s.PersonActivityQuerySerializer, request.query_params.dict())
        page = selectors.subject_timeline(
            self.subject, recipient=query.get("recipient"), before=query.get("before")
        )
        following = None
        if page.older is not None:
            following = request.build_absolute_uri(
                "?" + urlencode({**query, "before": page.older})
            )
        body = {
            "next": following,
            "results": s.PersonActivityOutputSerializer(page.events, many=True).data,
        }
        return Response(body)
