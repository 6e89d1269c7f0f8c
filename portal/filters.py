"""Query-string filters of the API, validated by a serializer like any input."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class QueryFilters(serializers.Serializer):
    """A filter given empty (`?role=`) is refused like any wrong value, unless the field
    allows blanks: DRF's form handling would quietly take it as absent, which is not what
    the OpenAPI (a non-empty string, or one of an enum) says."""

    def to_internal_value(self, data: Any) -> Any:
        empty = {
            name: ["Give a value, or leave the parameter out."]
            for name, field in self.fields.items()
            if name in data and data.get(name) == "" and not getattr(field, "allow_blank", False)
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)
