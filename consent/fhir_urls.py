"""FHIR resources the portal publishes at stable URLs (mounted at /fhir/)."""

from __future__ import annotations

from django.urls import path

from consent.fhir import CODE_SYSTEM_ID
from consent.views.fhir import fhir_code_system

app_name = "fhir"

urlpatterns = [
    path(f"CodeSystem/{CODE_SYSTEM_ID}", fhir_code_system, name="code_system"),
]
