"""Writes on datasets, their files and samples: registration, validation, linking, release.

One module per concern; import the services from here.
"""

from __future__ import annotations

from datasets.services.base import (
    DatasetError,
    DatasetProblems,
    RegistrationError,
    ReleaseError,
    SampleLinkError,
)
from datasets.services.datasets import dataset_create, dataset_release, dataset_retire
from datasets.services.registration import (
    FileEntry,
    SampleLinkEntry,
    datafile_remove,
    datafiles_register,
)
from datasets.services.samples import SampleChoice, samples_link
from datasets.services.validation import (
    datafile_validate,
    datafile_validation_interrupted,
    datafile_validation_retry,
    datafile_validation_start,
)

__all__ = [
    "DatasetError",
    "DatasetProblems",
    "FileEntry",
    "RegistrationError",
    "ReleaseError",
    "SampleChoice",
    "SampleLinkEntry",
    "SampleLinkError",
    "datafile_remove",
    "datafile_validate",
    "datafile_validation_interrupted",
    "datafile_validation_retry",
    "datafile_validation_start",
    "datafiles_register",
    "dataset_create",
    "dataset_release",
    "dataset_retire",
    "samples_link",
]
