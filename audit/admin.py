from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is appended by services and never edited."""

    list_display = (
        "sequence",
        "occurred_at",
        "action",
        "actor",
        "recipient",
        "purpose",
    )
    list_filter = ("action",)
    search_fields = ("subject", "recipient", "purpose", "=consent_id", "=event_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
