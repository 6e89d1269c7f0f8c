from __future__ import annotations

from django.urls import path

from datasets import views

app_name = "datasets"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("steward/", views.steward_home, name="steward_home"),
    path("steward/new/", views.dataset_create, name="dataset_create"),
    path("steward/<str:accession>/", views.dataset_manage, name="dataset_manage"),
    path("steward/<str:accession>/files/", views.files_add, name="files_add"),
    path("steward/<str:accession>/files/progress/", views.files_progress, name="files_progress"),
    path("steward/<str:accession>/files/<int:file_id>/retry/", views.file_retry, name="file_retry"),
    path(
        "steward/<str:accession>/files/<int:file_id>/remove/",
        views.file_remove,
        name="file_remove",
    ),
    path("steward/<str:accession>/samples/", views.samples_link, name="samples_link"),
    path(
        "steward/<str:accession>/samples/mapping/",
        views.samples_mapping,
        name="samples_mapping",
    ),
    path(
        "steward/<str:accession>/communities/",
        views.samples_community,
        name="samples_community",
    ),
    path("steward/<str:accession>/release/", views.dataset_release, name="dataset_release"),
    path("steward/<str:accession>/retire/", views.dataset_retire, name="dataset_retire"),
    path("<str:accession>/", views.catalogue_detail, name="catalogue_detail"),
]
