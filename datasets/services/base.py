"""What every dataset service shares: its errors, the steward check, the draft lock."""

from __future__ import annotations

from collections.abc import Sequence

from datasets.models import (
    Dataset,
    DatasetStatus,
)
from portal.exceptions import PermissionError_, PortalError
from portal.models import Role, User


class DatasetActions:
    """Audit action names (stored in the ledger, so never renamed)."""

    CREATE = "dataset.create"
    FILES_REGISTER = "dataset.files_register"
    FILE_REMOVE = "datafile.remove"
    SAMPLES_LINK = "dataset.samples_link"


class DatasetError(PortalError):
    code = "dataset_error"


class DatasetProblems(DatasetError):
    """Several precise problems at once: the request changed nothing."""

    def __init__(self, problems: Sequence[str], *, code: str | None = None) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems), code=code)


class RegistrationError(DatasetProblems):
    code = "registration_refused"


class SampleLinkError(DatasetProblems):
    code = "sample_link_refused"


class ReleaseError(DatasetProblems):
    code = "release_refused"
    http_status = 409


def require_steward(actor: User) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_role(Role.STEWARD)):
        raise PermissionError_("Only data stewards manage datasets.")


def locked_draft(dataset: Dataset, doing: str) -> Dataset:
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if locked.status != DatasetStatus.DRAFT:
        raise DatasetError(
            f"{locked.accession} is {locked.get_status_display().lower()}: {doing} only a "
            "draft dataset.",
            code="not_draft",
            http_status=409,
        )
    return locked
