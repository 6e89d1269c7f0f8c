from __future__ import annotations

from django.urls import path

from consent import api

app_name = "consent_api"

urlpatterns = [
    path("me/", api.ConsentMeApi.as_view(), name="me"),
    path("me/withdrawal/", api.ConsentWithdrawApi.as_view(), name="withdraw"),
    path("me/duo/", api.ConsentDuoApi.as_view(), name="duo"),
    path("me/records/", api.ConsentRecordListApi.as_view(), name="records"),
    path("me/fhir/", api.ConsentCurrentFhirApi.as_view(), name="current_fhir"),
    path("records/<int:record_id>/fhir/", api.ConsentRecordFhirApi.as_view(), name="record_fhir"),
    path("participants/", api.ParticipantConsentListApi.as_view(), name="participants"),
]
