from __future__ import annotations

from django.urls import path

from datasets import api

app_name = "datasets_api"

urlpatterns = [
    path("", api.DatasetListApi.as_view(), name="list"),
    path("register/", api.DatasetRegisterApi.as_view(), name="register"),
    path("<str:accession>/", api.DatasetDetailApi.as_view(), name="detail"),
    path("<str:accession>/release/", api.DatasetReleaseApi.as_view(), name="release"),
    path("<str:accession>/retire/", api.DatasetRetireApi.as_view(), name="retire"),
    path("<str:accession>/files/", api.DataFileListApi.as_view(), name="files"),
    path(
        "<str:accession>/files/register/",
        api.DataFileRegisterApi.as_view(),
        name="files_register",
    ),
    path("<str:accession>/files/<int:file_id>/", api.DataFileDetailApi.as_view(), name="file"),
    path(
        "<str:accession>/files/<int:file_id>/validation/",
        api.DataFileValidationApi.as_view(),
        name="file_validation",
    ),
    path(
        "<str:accession>/files/<int:file_id>/validation/retry/",
        api.DataFileRetryApi.as_view(),
        name="file_retry",
    ),
    path("<str:accession>/samples/", api.SampleListApi.as_view(), name="samples"),
    path("<str:accession>/samples/link/", api.SampleLinkApi.as_view(), name="samples_link"),
]
