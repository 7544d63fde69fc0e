from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Stable pages while consents are added: cursor over (granted_at, id)."""

    ordering = ("-granted_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
