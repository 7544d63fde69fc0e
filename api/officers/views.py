"""The audit API for compliance officers: export, manifests, verification.

Staff members only (a signed-in session, or a token with `audit:read` acting for
one). Every export is itself an audit event naming who exported what.
"""

from uuid import UUID

from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import OfficerTokenAuthentication
from api.officers import serializers as s
from api.permissions import IsAuditOfficer
from api.serializers import ReasonInputSerializer
from audit.actors import staff_actor
from audit.export import export_manifest, start_export
from audit.http import export_response
from audit.models import Checkpoint
from audit.selectors import latest_verification
from audit.services import verify_audit_log
from consents.services.organizations import change_organization_status


class ExportFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the export file's format here, not a DRF renderer: the
    API's answers (manifests, errors) are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditView(APIView):
    content_negotiation_class = ExportFormatNegotiation
    authentication_classes = [OfficerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuditOfficer]
    required_scopes = ["audit:read"]


class AuditExportView(AuditView):
    @extend_schema(
        parameters=[s.AuditExportQuerySerializer],
        responses={
            (200, "application/jsonl"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """Stream the trail (or a slice) as JSON Lines or CSV; the signed manifest
        is at the `Link` header's address once the last byte is sent."""
        query = s.AuditExportQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        export = start_export(
            filters=query.validated_data["filters"],
            fmt=query.validated_data["format"],
            actor=staff_actor(request.user),
        )
        return export_response(
            export, reverse("api:audit-manifest", args=[export.export_id])
        )


class AuditManifestView(AuditView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, export_id: UUID) -> Response:
        """The signed manifest of a finished export (404 until it finishes)."""
        manifest = export_manifest(export_id)
        if manifest is None:
            raise Http404
        return Response(manifest)


class AuditVerificationView(AuditView):
    @extend_schema(request=None, responses=s.AuditVerificationOutputSerializer)
    def post(self, request: Request) -> Response:
        """Recompute the whole chain and check every checkpoint now; recorded."""
        result = verify_audit_log(actor=staff_actor(request.user))
        return Response(s.AuditVerificationOutputSerializer(result.as_dict()).data)


class AuditLatestVerificationView(AuditView):
    @extend_schema(responses=s.AuditVerificationOutputSerializer)
    def get(self, request: Request) -> Response:
        """The last recorded verification (hourly by beat, or on demand)."""
        result = latest_verification()
        if result is None:
            raise Http404
        return Response(s.AuditVerificationOutputSerializer(result).data)


class AuditLatestCheckpointView(AuditView):
    @extend_schema(responses=s.AuditCheckpointOutputSerializer)
    def get(self, request: Request) -> Response:
        """The newest signed head, for keeping a copy outside the platform."""
        checkpoint = Checkpoint.objects.order_by("-size").first()
        if checkpoint is None:
            raise Http404
        return Response(s.AuditCheckpointOutputSerializer(checkpoint).data)


class OrganizationStatusView(AuditView):
    """Suspend or reactivate an organization: its checks deny (or answer again)
    from the commit, and its consents pause (or resume) in batches."""

    required_scopes = ["organizations:manage"]
    target_status = ""

    @extend_schema(
        request=ReasonInputSerializer, responses=s.OrganizationStatusOutputSerializer
    )
    def post(self, request: Request, code: str) -> Response:
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = change_organization_status(
            code=code,
            status=self.target_status,
            actor=staff_actor(request.user),
            reason=data.validated_data["reason"],
        )
        job = change.job
        body = {
            "code": change.organization.code,
            "status": change.organization.status,
            "mass_change_id": job.pk if job else None,
            "consents_to_change": job.total if job else 0,
        }
        return Response(s.OrganizationStatusOutputSerializer(body).data)


class OrganizationSuspendView(OrganizationStatusView):
    target_status = "suspended"


class OrganizationReactivateView(OrganizationStatusView):
    target_status = "active"
