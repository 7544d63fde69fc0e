"""DRF's parsing and content negotiation, with shortcuts for what clients send.

The API speaks only JSON. Nearly every request sends `Accept: */*`,
`application/json` or nothing, and a UTF-8 JSON body: those skip the generic
media-type matching and decode with orjson, which accepts exactly strict JSON
(no NaN or Infinity, like DRF's STRICT_JSON). Anything else takes DRF's own path
and gets its answers (406, 415, parse errors) unchanged.
"""

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings

JSON = "application/json"
ANY_JSON = frozenset({"*/*", JSON, "application/json; charset=utf-8"})
# Content types of a body that JSONParser decodes as UTF-8 JSON, as clients send them.
JSON_BODY = frozenset({JSON, "application/json; charset=utf-8"})


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # In DRF 3.18.3, not yet in its stubs 3.18.1.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        if encoding.lower().replace("-", "") != "utf8":
            return super().parse(stream, media_type, parser_context)
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class JSONFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            accept in ANY_JSON
            and not format_suffix
            and renderers[0].media_type == JSON
            and api_settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], JSON
        return super().select_renderer(request, renderers, format_suffix)

    def select_parser(self, request, parsers):
        if request.content_type == JSON and parsers[0].media_type == JSON:
            return parsers[0]
        return super().select_parser(request, parsers)
