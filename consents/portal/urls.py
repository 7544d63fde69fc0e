from django.contrib.auth import views as auth_views
from django.urls import path

from consents.portal import views

app_name = "portal"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("consents/", views.consent_list, name="consents"),
    path("consents/<uuid:consent_id>/", views.consent_detail, name="consent"),
    path(
        "consents/<uuid:consent_id>/receipt/",
        views.consent_receipt,
        name="consent-receipt",
    ),
    path(
        "consents/<uuid:consent_id>/revoke/",
        views.consent_revoke,
        name="consent-revoke",
    ),
    path(
        "consents/<uuid:consent_id>/pause/", views.consent_pause, name="consent-pause"
    ),
    path(
        "consents/<uuid:consent_id>/resume/",
        views.consent_resume,
        name="consent-resume",
    ),
    path(
        "recipients/<str:code>/revoke/", views.recipient_revoke, name="recipient-revoke"
    ),
    path("activity/", views.activity, name="activity"),
    # The `approve_url` the organization API hands out for each request.
    path(
        "consent-requests/<uuid:request_id>/",
        views.consent_request,
        name="consent-request",
    ),
    path("preferences/", views.preferences, name="preferences"),
]
