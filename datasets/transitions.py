from __future__ import annotations

from datasets.models import DatasetStatus, FileStatus, VariantIndexStatus
from portal.transitions import StateTable

# Released datasets are what the catalogue shows and access requests name; a retired one
# stays on record (grants and deliveries refer to it) but takes no new requests.
DATASET_TRANSITIONS = StateTable(
    {
        DatasetStatus.DRAFT: frozenset({DatasetStatus.RELEASED}),
        DatasetStatus.RELEASED: frozenset({DatasetStatus.RETIRED}),
        DatasetStatus.RETIRED: frozenset(),
    },
    actions={
        DatasetStatus.RELEASED: "dataset.released",
        DatasetStatus.RETIRED: "dataset.retired",
    },
)

# VALIDATING is set before the task is queued and the task works only on a file still in
# it, so a redelivered or repeated task does nothing twice. FAILED goes back to PENDING to
# be validated again (after the steward fixed the file).
FILE_TRANSITIONS = StateTable(
    {
        FileStatus.PENDING: frozenset({FileStatus.VALIDATING}),
        FileStatus.VALIDATING: frozenset({FileStatus.VALID, FileStatus.FAILED}),
        FileStatus.VALID: frozenset(),
        FileStatus.FAILED: frozenset({FileStatus.PENDING}),
    },
    actions={
        FileStatus.PENDING: "datafile.pending",
        FileStatus.VALIDATING: "datafile.validating",
        FileStatus.VALID: "datafile.valid",
        FileStatus.FAILED: "datafile.failed",
    },
)

# BUILDING is set before the task is queued and the task builds only an index still in it;
# a failed build can be started again. A ready index is never rebuilt for consent changes:
# consent is applied at query time.
VARIANT_INDEX_TRANSITIONS = StateTable(
    {
        VariantIndexStatus.BUILDING: frozenset(
            {VariantIndexStatus.READY, VariantIndexStatus.FAILED}
        ),
        VariantIndexStatus.READY: frozenset(),
        VariantIndexStatus.FAILED: frozenset({VariantIndexStatus.BUILDING}),
    },
    actions={
        VariantIndexStatus.BUILDING: "variantindex.building",
        VariantIndexStatus.READY: "variantindex.ready",
        VariantIndexStatus.FAILED: "variantindex.failed",
    },
)
