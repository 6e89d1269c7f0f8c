"""The OpenAPI the API publishes: every operation documents the problem+json refusals it can
give, besides its success answer (drf-spectacular documents only the latter by itself)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from portal.exceptions import PROBLEM_CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem, as every refusal of the API is answered."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="What went wrong, for programs (e.g. `invalid`)")
    errors = serializers.JSONField(
        required=False, help_text="Per field (or per item) messages, when there are several"
    )

    class Meta:
        ref_name = "Problem"


REFUSALS = {
    "400": "The request is refused: the detail says why (errors lists each field).",
    "401": "No working credentials: the API token is unknown, expired, revoked or ended by a "
    "password change, or the request is not signed in.",
    "403": "Not allowed: the role, the token's scope or the object's rules refuse it.",
    "404": "No such object, or not one you may see.",
    "409": "The object's state does not allow it now (someone changed it first, or it "
    "already happened).",
    "413": "The request body is larger than the portal accepts.",
    "415": "The request body's media type is not one this operation accepts.",
}
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")


class PortalAutoSchema(AutoSchema):
    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """Say what DRF refuses that drf-spectacular leaves out: a blank string where blanks
        are not allowed, an empty list where one is required."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request":
            return schema
        if (
            isinstance(field, serializers.CharField)
            and not field.allow_blank
            and schema.get("type") == "string"
        ):
            schema.setdefault("minLength", 1)
        if (
            isinstance(field, serializers.ListSerializer | serializers.ListField)
            and not getattr(field, "allow_empty", True)
            and schema.get("type") == "array"
        ):
            schema.setdefault("minItems", 1)
        return schema

    def _refusals(self) -> list[str]:
        statuses = ["400", "401", "403"]
        # An object named in the path, or in the body, may not exist (or not for you).
        if _PATH_PARAMETER.search(self.path) or self.method in {"POST", "PUT", "PATCH"}:
            statuses.append("404")
        if self.method not in {"GET", "HEAD", "OPTIONS"}:
            statuses.append("409")
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses += ["413", "415"]
        return statuses

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        problem = self.resolve_serializer(ProblemSerializer, "response").ref
        content = {PROBLEM_CONTENT_TYPE: {"schema": problem}}
        for status in self._refusals():
            responses.setdefault(status, {"description": REFUSALS[status]})
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                # An error documented by a view with a description only: the body is a problem.
                response["content"] = content
        return responses


# Any string without NUL (portal.middleware.BadInputMiddleware refuses NUL everywhere).
NO_NUL = "^[^\\u0000]*$"


def _no_nul(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"enum", "format", "pattern", "$ref"} & node.keys():
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul(value)


def strings_without_nul(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every plain string of the API (parameters and
    bodies) is documented as holding no NUL, which is what the portal accepts."""
    _no_nul(result.get("paths", {}))
    _no_nul(result.get("components", {}))
    return result
