"""The HTTP shape of an export, shared by the officers' pages and the API."""

from django.http import StreamingHttpResponse

from audit.export import Export, stream_export
from audit.export_format import CONTENT_TYPES


def export_response(export: Export, manifest_url: str) -> StreamingHttpResponse:
    """The export streamed as a download that points to its manifest."""
    response = StreamingHttpResponse(
        stream_export(export), content_type=CONTENT_TYPES[export.fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Export-Id"] = str(export.export_id)
    response["Link"] = f'<{manifest_url}>; rel="describedby"'
    response["Cache-Control"] = "no-store"
    return response
