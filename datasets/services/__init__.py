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
from datasets.services.committees import (
    CommitteeActions,
    CommitteeError,
    committee_create,
    committee_member_add,
    committee_member_remove,
    committee_update,
    samples_assign_community,
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
from datasets.services.variants import (
    variant_index_build,
    variant_index_failed,
    variant_index_retry,
    variant_indexes_start,
)

__all__ = [
    "CommitteeActions",
    "CommitteeError",
    "DatasetError",
    "DatasetProblems",
    "FileEntry",
    "RegistrationError",
    "ReleaseError",
    "SampleChoice",
    "SampleLinkEntry",
    "SampleLinkError",
    "committee_create",
    "committee_member_add",
    "committee_member_remove",
    "committee_update",
    "datafile_remove",
    "datafile_validate",
    "datafile_validation_interrupted",
    "datafile_validation_retry",
    "datafile_validation_start",
    "datafiles_register",
    "dataset_create",
    "dataset_release",
    "dataset_retire",
    "samples_assign_community",
    "samples_link",
    "variant_index_build",
    "variant_index_failed",
    "variant_index_retry",
    "variant_indexes_start",
]
