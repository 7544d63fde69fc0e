"""The operator's pages for the consent domain: read-only records of consents,
people and organizations; the catalog; and notices (endpoints, deliveries with
attempts, replays, and how soon each organization acknowledges a consent's end).

Every change an operator makes goes through a service, audited there."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.actors import Actor
from consents import selectors
from consents.errors import ConsentError
from consents.models import (
    Acknowledgement,
    Consent,
    ConsentRequest,
    DataSubject,
    Delivery,
    DeliveryAttempt,
    ExpiryReminder,
    MassChange,
    Organization,
    OrganizationClient,
    Purpose,
    PurposeVersion,
    Scope,
    SubjectReference,
    Transfer,
    WebhookEndpoint,
)
from consents.services import endpoints, organizations


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only services may write: visible, never editable here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ConsentHolderInline(admin.TabularInline):
    model = Consent.holders.through
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentScopeInline(ConsentHolderInline):
    model = Consent.scopes.through


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "purpose", "status", "granted_at", "expires_at")
    list_filter = ("status", "purpose", "recipient")
    search_fields = ("=id", "subject__pseudonym", "recipient__code")
    list_select_related = ("recipient", "purpose")
    inlines = [ConsentScopeInline, ConsentHolderInline]


@admin.register(ConsentRequest)
class ConsentRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "status", "created_at", "expires_at")
    list_filter = ("status",)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("id", "consent", "holder", "recipient", "direction", "occurred_at")
    list_select_related = ("holder", "recipient")


@admin.register(DataSubject)
class DataSubjectAdmin(ReadOnlyAdmin):
    """Only the pseudonym shows: personal fields stay sealed."""

    list_display = ("pseudonym", "created_at", "erased_at")
    fields = ("pseudonym", "user", "created_at", "erased_at")
    search_fields = ("=pseudonym",)


@admin.register(SubjectReference)
class SubjectReferenceAdmin(ReadOnlyAdmin):
    list_display = ("organization", "reference", "subject", "created_at")
    search_fields = ("=reference",)


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    """Registered with `create_organization`, suspended through the service.

    Revoking every consent of a recipient cannot be undone, so it is not an
    action here: it is `manage.py mass_change revoke-recipient`."""

    list_display = ("code", "name", "status", "created_at")
    list_filter = ("status",)
    actions = ["suspend", "reactivate"]

    @admin.action(description="Suspend, and pause their consents")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Organization.Status.SUSPENDED)

    @admin.action(description="Reactivate, and resume what the suspension paused")
    def reactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Organization.Status.ACTIVE)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str):
        for organization in queryset:
            organizations.set_organization_status(
                code=organization.code, status=status, actor=_staff(request)
            )
        self.message_user(
            request, "Done; their consents change in the background (Mass changes)."
        )


@admin.register(MassChange)
class MassChangeAdmin(ReadOnlyAdmin):
    """Progress of changes to many consents at once (`manage.py mass_change`)."""

    list_display = (
        "kind",
        "organization",
        "purpose",
        "changed",
        "total",
        "status",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "kind")


@admin.register(OrganizationClient)
class OrganizationClientAdmin(ReadOnlyAdmin):
    list_display = ("organization", "application")


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_ko", "name_en", "sensitive")
    search_fields = ("code", "name_ko", "name_en")

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.consents.exists()


class PurposeVersionInline(admin.StackedInline):
    model = PurposeVersion
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        # Purpose versions are published by load_catalog; a used one is frozen.
        return [f.name for f in PurposeVersion._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    """Retiring a purpose lapses its consents for good: `manage.py mass_change
    retire-purpose`, not an edit here."""

    list_display = ("code", "name_ko", "name_en", "retired_at")
    inlines = [PurposeVersionInline]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ("code", "retired_at") if obj else ("retired_at",)


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
            "times": selectors.acknowledgement_times(),
        }
        return super().changelist_view(request, extra_context)


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    list_display = ("consent", "sent_at")
