from __future__ import annotations

from django.urls import path

from access.views import beacon, drs, ga4gh, htsget

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
    # GA4GH DRS 1.2 (bulk requests as DRS 1.4 defines them); objects/access before objects/<id>.
    path("drs/v1/service-info", drs.ServiceInfoApi.as_view(), name="drs_service_info"),
    path("drs/v1/objects", drs.ObjectsBulkApi.as_view(), name="drs_objects"),
    path("drs/v1/objects/access", drs.ObjectsAccessBulkApi.as_view(), name="drs_objects_access"),
    path("drs/v1/objects/<str:object_id>", drs.ObjectApi.as_view(), name="drs_object"),
    path(
        "drs/v1/objects/<str:object_id>/access/<str:access_id>",
        drs.ObjectAccessApi.as_view(),
        name="drs_object_access",
    ),
    # GA4GH htsget 1.3: tickets whose one URL is the slicing endpoint (access:slice).
    path(
        "htsget/v1/reads/service-info",
        htsget.ReadsServiceInfoApi.as_view(),
        name="htsget_reads_service_info",
    ),
    path(
        "htsget/v1/variants/service-info",
        htsget.VariantsServiceInfoApi.as_view(),
        name="htsget_variants_service_info",
    ),
    path("htsget/v1/reads/<str:object_id>", htsget.ReadsApi.as_view(), name="htsget_reads"),
    path(
        "htsget/v1/variants/<str:object_id>",
        htsget.VariantsApi.as_view(),
        name="htsget_variants",
    ),
    # GA4GH Beacon v2: consent-aware answers (see access/beacon.py).
    path("beacon/v2", beacon.InfoApi.as_view(), name="beacon_root"),
    path("beacon/v2/", beacon.InfoApi.as_view(), name="beacon_root_slash"),
    path("beacon/v2/info", beacon.InfoApi.as_view(), name="beacon_info"),
    path("beacon/v2/service-info", beacon.ServiceInfoApi.as_view(), name="beacon_service_info"),
    path(
        "beacon/v2/configuration",
        beacon.ConfigurationApi.as_view(),
        name="beacon_configuration",
    ),
    path("beacon/v2/map", beacon.MapApi.as_view(), name="beacon_map"),
    path("beacon/v2/entry_types", beacon.EntryTypesApi.as_view(), name="beacon_entry_types"),
    path(
        "beacon/v2/filtering_terms",
        beacon.FilteringTermsApi.as_view(),
        name="beacon_filtering_terms",
    ),
    path("beacon/v2/g_variants", beacon.GVariantsApi.as_view(), name="beacon_g_variants"),
]
