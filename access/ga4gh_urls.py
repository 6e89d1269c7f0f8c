from __future__ import annotations

from django.urls import path

from access.views import ga4gh

app_name = "ga4gh"

urlpatterns = [
    path("passport/v1/visas", ga4gh.PassportVisasApi.as_view(), name="visas"),
    path(
        "passport/v1/users/<int:user_id>/visas",
        ga4gh.UserPassportVisasApi.as_view(),
        name="user_visas",
    ),
    path("jwks.json", ga4gh.jwks, name="jwks"),
    path("dacs/<int:committee_id>", ga4gh.committee, name="committee"),
    path("agreements/<int:agreement_id>", ga4gh.agreement, name="agreement"),
]
