from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from api import audit_views, views, webhook_views

app_name = "api"

urlpatterns = [
    path("checks/", views.CheckView.as_view(), name="checks"),  # first: the hot path
    path("purposes/", views.PurposeListView.as_view(), name="purposes"),
    path("scopes/", views.ScopeListView.as_view(), name="scopes"),
    path("consents/", views.ConsentCollectionView.as_view(), name="consents"),
    path(
        "consents/<uuid:consent_id>/", views.ConsentDetailView.as_view(), name="consent"
    ),
    path(
        "consents/<uuid:consent_id>/revoke/",
        views.ConsentRevokeView.as_view(),
        name="consent-revoke",
    ),
    path(
        "consents/<uuid:consent_id>/pause/",
        views.ConsentPauseView.as_view(),
        name="consent-pause",
    ),
    path(
        "consents/<uuid:consent_id>/resume/",
        views.ConsentResumeView.as_view(),
        name="consent-resume",
    ),
    path(
        "subject-references/",
        views.SubjectReferenceCreateView.as_view(),
        name="subject-references",
    ),
    path(
        "consent-requests/",
        views.ConsentRequestCreateView.as_view(),
        name="consent-requests",
    ),
    path(
        "consent-requests/<uuid:request_id>/",
        views.ConsentRequestDetailView.as_view(),
        name="consent-request",
    ),
    path(
        "consents/<uuid:consent_id>/acknowledge/",
        webhook_views.ConsentAcknowledgeView.as_view(),
        name="consent-acknowledge",
    ),
    path(
        "consents/<uuid:consent_id>/deliveries/",
        webhook_views.ConsentDeliveriesView.as_view(),
        name="consent-deliveries",
    ),
    path(
        "webhook-endpoints/",
        webhook_views.WebhookEndpointCollectionView.as_view(),
        name="webhook-endpoints",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/",
        webhook_views.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "deliveries/<uuid:delivery_id>/replay/",
        webhook_views.DeliveryReplayView.as_view(),
        name="delivery-replay",
    ),
    path("transfers/", views.TransferCreateView.as_view(), name="transfers"),
    path("me/consents/", views.PersonConsentListView.as_view(), name="me-consents"),
    path(
        "me/consents/<uuid:consent_id>/",
        views.PersonConsentDetailView.as_view(),
        name="me-consent",
    ),
    path(
        "me/consents/<uuid:consent_id>/revoke/",
        views.PersonConsentRevokeView.as_view(),
        name="me-consent-revoke",
    ),
    path("me/activity/", views.PersonActivityView.as_view(), name="me-activity"),
    path("audit/export/", audit_views.AuditExportView.as_view(), name="audit-export"),
    path(
        "audit/exports/<uuid:export_id>/manifest/",
        audit_views.AuditManifestView.as_view(),
        name="audit-manifest",
    ),
    path(
        "audit/verifications/",
        audit_views.AuditVerificationView.as_view(),
        name="audit-verifications",
    ),
    path(
        "audit/verifications/latest/",
        audit_views.AuditLatestVerificationView.as_view(),
        name="audit-verification-latest",
    ),
    path(
        "audit/checkpoints/latest/",
        audit_views.AuditLatestCheckpointView.as_view(),
        name="audit-checkpoint-latest",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api:schema"), name="docs"),
]
