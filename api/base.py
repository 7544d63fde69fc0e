"""The view base every audience shares: validation with shared serializer
instances, cursor pages, and `Idempotency-Key` on every POST."""

from functools import cache
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from api.idempotency import HEADER, IdempotentSchema, idempotent_handler
from api.pagination import NewestFirstPagination


@cache
def _shared(serializer_class: type[Serializer]) -> Serializer:
    """One shared, stateless instance per serializer without context.

    A new serializer deep-copies its declared fields, which costs more than the
    validation or rendering itself; `run_validation` and `to_representation` keep
    no state on the instance.
    """
    return serializer_class()


class ValidatingView(APIView):
    required_scopes: list[str] = []
    # A POST with an Idempotency-Key is answered once (api.idempotency); an
    # answer that holds a secret shown once is stored encrypted.
    idempotent = True
    answer_holds_secret = False
    schema = IdempotentSchema()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authenticated, permitted
        post = getattr(self, "post", None)  # None: DRF answers 405 next
        keyed = request.method == "POST" and HEADER in request.META
        if post and keyed and self.idempotent:
            # DRF looks the handler up after this: the wrapped one answers.
            self.post = idempotent_handler(post, sealed=self.answer_holds_secret)

    def valid(self, serializer_class, data) -> dict:
        return _shared(serializer_class).run_validation(data)

    def paginated(self, consents, serializer_class, **context) -> Response:
        """One cursor page of consents, newest first."""
        paginator = NewestFirstPagination()
        page: list[Any] | None = paginator.paginate_queryset(
            consents, self.request, view=self
        )
        body = serializer_class(page, many=True, context=context).data
        return paginator.get_paginated_response(body)
