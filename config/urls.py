from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from config import views

# The admin, as the officers' pages, wants staff signed in with their second
# factor: its sign-in form asks for the code (django-otp's documented swap).
admin.site.__class__ = OTPAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include("api.urls")),  # first: the check is the hot path
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path(".well-known/jwks.json", views.jwks_view, name="jwks"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("consents.portal.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
