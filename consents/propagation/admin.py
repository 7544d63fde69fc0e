"""The operator's view of notices: endpoints, deliveries with attempts, replays,
and how soon each organization acknowledges the end of a consent."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.actors import Actor
from consents.admin import ReadOnlyAdmin
from consents.errors import ConsentError
from consents.propagation import acknowledgements, endpoints
from consents.propagation.models import (
    Acknowledgement,
    Delivery,
    DeliveryAttempt,
    ExpiryReminder,
    WebhookEndpoint,
)


def _staff(request: HttpRequest) -> Actor:
    return Actor("staff", request.user.get_username())


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Registered through the API or `create_organization --webhook-url`."""

    list_display = ("organization", "url", "status", "sign_ed25519", "created_at")
    list_filter = ("status",)
    exclude = ("secret_enc", "secret_key_id")
    actions = ["disable"]

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset.select_related("organization"):
            endpoints.disable_webhook_endpoint(
                organization=endpoint.organization,
                endpoint_id=endpoint.id,
                actor=_staff(request),
            )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ("attempted_at", "status_code", "latency_ms", "error")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "webhook_id",
        "event_type",
        "organization",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "last_status_code",
    )
    list_filter = ("status", "event_type", "organization")
    exclude = ("body",)
    readonly_fields = ("body_text",)
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    @admin.display(description="body")
    def body_text(self, delivery: Delivery) -> str:
        return delivery.body

    @admin.action(description="Replay the selected failed deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for delivery in queryset:
            try:
                endpoints.replay_delivery(
                    delivery_id=delivery.id, actor=_staff(request)
                )
                done += 1
            except ConsentError as exc:
                self.message_user(
                    request, f"{delivery.webhook_id}: {exc.message}", messages.WARNING
                )
        self.message_user(request, f"{done} deliveries queued again")


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    list_display = (
        "consent",
        "organization",
        "action",
        "acknowledged_at",
        "seconds_after_end",
    )
    list_filter = ("action", "organization")

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "times": acknowledgements.acknowledgement_times(),
        }
        return super().changelist_view(request, extra_context)


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    list_display = ("consent", "sent_at")
