"""The portal's FHIR CodeSystem at its canonical URL: public terminology, no sign-in."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from consent.fhir import FHIR_CONTENT_TYPE, code_system_resource


@require_GET
@cache_control(public=True, max_age=3600)
def fhir_code_system(request: HttpRequest) -> JsonResponse:
    return JsonResponse(code_system_resource(), content_type=FHIR_CONTENT_TYPE)
