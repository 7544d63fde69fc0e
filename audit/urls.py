from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.search, name="search"),
    path("events/<int:sequence>/", views.event_detail, name="event"),
    path("exports/", views.exports, name="exports"),
    path("exports/<uuid:export_id>/manifest/", views.manifest, name="manifest"),
    path("verification/", views.verification, name="verification"),
    path("verification/run/", views.verify_now, name="verify-now"),
    path("figures/", views.figures_page, name="figures"),
]
