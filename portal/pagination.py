"""The API's one paginator: limit and offset, both bounded and validated."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 200
# Far past any list the portal holds, far below PostgreSQL's bigint (OFFSET is a bigint).
MAX_OFFSET = 1_000_000_000


def _bounded(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    # Digits only: int() would also take " 5", "+5", "5_0" and non-ASCII digits.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else -1
    if not low <= value <= high:
        raise ValidationError({name: [f"A whole number from {low} to {high}."]})
    return value


class Pagination(LimitOffsetPagination):
    """`limit` (1-200, default PAGE_SIZE) and `offset` (0-1,000,000,000): anything else is a
    400 naming the parameter, never a silent default or a database error."""

    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        return _bounded(request, self.limit_query_param, self.default_limit, 1, MAX_LIMIT)

    def get_offset(self, request: Request) -> int:
        return _bounded(request, self.offset_query_param, 0, 0, MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"] |= {"minimum": 1, "maximum": MAX_LIMIT, "default": self.default_limit}
        offset["schema"] |= {"minimum": 0, "maximum": MAX_OFFSET, "default": 0}
        return [limit, offset]


class PageParameters(serializers.Serializer):
    """`limit` and `offset` as query parameters, for views that document their own envelope."""

    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)

    class Meta:
        ref_name = "PageParameters"
