from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from api.me import views as me
from api.officers import views as officers
from api.organizations import checks, webhooks
from api.organizations import views as organizations

app_name = "api"

urlpatterns = [
    path("checks/", checks.CheckView.as_view(), name="checks"),  # first: the hot path
    path("purposes/", organizations.PurposeListView.as_view(), name="purposes"),
    path("scopes/", organizations.ScopeListView.as_view(), name="scopes"),
    path("consents/", organizations.ConsentCollectionView.as_view(), name="consents"),
    path(
        "consents/<uuid:consent_id>/",
        organizations.ConsentDetailView.as_view(),
        name="consent",
    ),
    path(
        "consents/<uuid:consent_id>/revoke/",
        organizations.ConsentRevokeView.as_view(),
        name="consent-revoke",
    ),
    path(
        "consents/<uuid:consent_id>/pause/",
        organizations.ConsentPauseView.as_view(),
        name="consent-pause",
    ),
    path(
        "consents/<uuid:consent_id>/resume/",
        organizations.ConsentResumeView.as_view(),
        name="consent-resume",
    ),
    path(
        "subject-references/",
        organizations.SubjectReferenceCreateView.as_view(),
        name="subject-references",
    ),
    path(
        "consent-requests/",
        organizations.ConsentRequestCreateView.as_view(),
        name="consent-requests",
    ),
    path(
        "consent-requests/<uuid:request_id>/",
        organizations.ConsentRequestDetailView.as_view(),
        name="consent-request",
    ),
    path(
        "consents/<uuid:consent_id>/acknowledge/",
        webhooks.ConsentAcknowledgeView.as_view(),
        name="consent-acknowledge",
    ),
    path(
        "consents/<uuid:consent_id>/deliveries/",
        webhooks.ConsentDeliveriesView.as_view(),
        name="consent-deliveries",
    ),
    path(
        "webhook-endpoints/",
        webhooks.WebhookEndpointCollectionView.as_view(),
        name="webhook-endpoints",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/",
        webhooks.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "deliveries/<uuid:delivery_id>/replay/",
        webhooks.DeliveryReplayView.as_view(),
        name="delivery-replay",
    ),
    path("transfers/", organizations.TransferCreateView.as_view(), name="transfers"),
    path("me/consents/", me.PersonConsentListView.as_view(), name="me-consents"),
    path(
        "me/consents/<uuid:consent_id>/",
        me.PersonConsentDetailView.as_view(),
        name="me-consent",
    ),
    path(
        "me/consents/<uuid:consent_id>/revoke/",
        me.PersonConsentRevokeView.as_view(),
        name="me-consent-revoke",
    ),
    path("me/activity/", me.PersonActivityView.as_view(), name="me-activity"),
    path("audit/export/", officers.AuditExportView.as_view(), name="audit-export"),
    path(
        "officers/organizations/<str:code>/suspend/",
        officers.OrganizationSuspendView.as_view(),
        name="organization-suspend",
    ),
    path(
        "officers/organizations/<str:code>/reactivate/",
        officers.OrganizationReactivateView.as_view(),
        name="organization-reactivate",
    ),
    path(
        "audit/exports/<uuid:export_id>/manifest/",
        officers.AuditManifestView.as_view(),
        name="audit-manifest",
    ),
    path(
        "audit/verifications/",
        officers.AuditVerificationView.as_view(),
        name="audit-verifications",
    ),
    path(
        "audit/verifications/latest/",
        officers.AuditLatestVerificationView.as_view(),
        name="audit-verification-latest",
    ),
    path(
        "audit/checkpoints/latest/",
        officers.AuditLatestCheckpointView.as_view(),
        name="audit-checkpoint-latest",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api:schema"), name="docs"),
]
