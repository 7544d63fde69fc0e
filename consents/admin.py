from django.contrib import admin

from consents.models import (
    Consent,
    ConsentRequest,
    DataSubject,
    Organization,
    OrganizationClient,
    Purpose,
    PurposeVersion,
    Scope,
    SubjectReference,
    Transfer,
)


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
    """Registered with `create_organization`, suspended through the service."""

    list_display = ("code", "name", "status", "created_at")
    list_filter = ("status",)


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
    list_display = ("code", "name_ko", "name_en")
    inlines = [PurposeVersionInline]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()


# The operator's pages for notices, registered with the rest of the app's admin.
from consents.propagation import admin as propagation_admin  # noqa: E402, F401
