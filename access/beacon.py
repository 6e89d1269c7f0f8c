"""GA4GH Beacon v2 at /ga4gh/beacon/v2: what a query may say, and the framework's shapes.

No database here: `parse_query` turns GET parameters or a POST body into a `Query` (or a
BeaconError naming what is wrong, 4xx), and the `*_response` functions build the Beacon v2
framework documents (validated in the tests against the published JSON schemas).

Coordinates are Beacon's: `start` 0-based, `end` exclusive. A sequence query names the
reference and alternate bases at `start` (VCF POS = start + 1); a range query finds the
variants whose first base lies in [start, end), at most MAX_RANGE bases wide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from datasets.genomics.variants import DELETION, INSERTION, MNP, SNP, SYMBOLIC, normalise_chrom
from portal.exceptions import PortalError

API_VERSION = "v2.0.0"
BEACON_ID = "org.custodian.beacon"
ENTRY_TYPE = "genomicVariant"
VARIANT_SCHEMA = {"entityType": ENTRY_TYPE, "schema": "beacon-g_variant-v2.0.0"}
GRANULARITIES = ("boolean", "count", "record")
# A documented limit: wider ranges are refused (400), so no query reads a whole chromosome.
MAX_RANGE = 1_000_000
# Past the longest human chromosome by far, and within the index's 32-bit positions.
MAX_POSITION = 1_000_000_000
ASSEMBLIES = {
    "grch38": "GRCh38",
    "hg38": "GRCh38",
    "grch37": "GRCh37",
    "hg19": "GRCh37",
    "b37": "GRCh37",
}
VARIANT_TYPES: dict[str, frozenset[str]] = {
    "SNP": frozenset({SNP}),
    "SNV": frozenset({SNP}),
    "MNP": frozenset({MNP}),
    "DEL": frozenset({DELETION}),
    "INS": frozenset({INSERTION}),
    "INDEL": frozenset({DELETION, INSERTION}),
    "SV": frozenset({SYMBOLIC}),
}
_BASES = re.compile(r"^[ACGTN]+$")
_PARAMETERS = frozenset(
    {
        "referenceName",
        "start",
        "end",
        "referenceBases",
        "alternateBases",
        "assemblyId",
        "variantType",
        "requestedGranularity",
        "includeResultsetResponses",
        "skip",
        "limit",
        "testMode",
        "filters",
        "format",
    }
)


class BeaconActions:
    QUERY = "beacon.query"


class BeaconError(PortalError):
    code = "beacon_error"
    http_status = 400


@dataclass(frozen=True)
class Query:
    assembly: str
    chrom: str
    start: int
    end: int | None = None
    ref: str | None = None
    alt: str | None = None
    kinds: frozenset[str] | None = None
    granularity: str = "boolean"
    received: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_sequence(self) -> bool:
        return self.alt is not None

    @property
    def first_position(self) -> int:
        """VCF POS of the query's first base."""
        return self.start + 1

    @property
    def last_position(self) -> int:
        return self.end if self.end is not None else self.start + 1

    def describe(self) -> dict[str, Any]:
        """What the audit ledger keeps of the query."""
        found = {"assemblyId": self.assembly, "referenceName": self.chrom, "start": self.start}
        if self.is_sequence:
            found |= {"referenceBases": self.ref, "alternateBases": self.alt}
        else:
            found["end"] = self.end
            if self.kinds is not None:
                found["variantType"] = sorted(self.kinds)
        return found | {"requestedGranularity": self.granularity}


def _one(value: Any, name: str) -> Any:
    """Beacon allows arrays for start and end (bracket queries); this beacon takes one value."""
    if isinstance(value, list):
        if len(value) != 1:
            raise BeaconError(
                f"{name} must be a single position: bracket queries (several values) are not "
                "supported."
            )
        return value[0]
    if isinstance(value, str) and "," in value:
        raise BeaconError(
            f"{name} must be a single position: bracket queries (several values) are not supported."
        )
    return value


def _position(value: Any, name: str) -> int:
    value = _one(value, name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BeaconError(f"{name} must be a whole number, not {value!r}.")
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,10}", text):
        raise BeaconError(f"{name} must be a whole number of 0 or more, not {text[:40]!r}.")
    if int(text) > MAX_POSITION:
        raise BeaconError(f"{name} ({text}) is beyond the end of any chromosome.")
    return int(text)


def _bases(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _BASES.match(value.upper()) or len(value) > 1000:
        raise BeaconError(
            f"{name} must be bases (A, C, G, T or N), at most 1,000 of them, "
            f"not {str(value)[:40]!r}."
        )
    return value.upper()


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BeaconError(f"{name} is required, as text.")
    if len(value) > 100 or not value.isprintable():
        raise BeaconError(f"{name} must be a short name in printable characters.")
    return value.strip()


def parse_query(parameters: Mapping[str, Any], *, granularity: Any = None) -> Query:
    """A Query from GET parameters or a POST body's requestParameters; BeaconError if not."""
    unknown = sorted(set(parameters) - _PARAMETERS)
    if unknown:
        raise BeaconError(f"Unknown parameter(s): {', '.join(unknown)}.")
    if parameters.get("filters"):
        raise BeaconError("This beacon does not support filters on genomic variants.")
    wanted = granularity if granularity is not None else parameters.get("requestedGranularity")
    if wanted is None or wanted == "":
        wanted = "boolean"
    if not isinstance(wanted, str) or wanted not in GRANULARITIES:
        raise BeaconError(
            f"requestedGranularity must be one of {', '.join(GRANULARITIES)}, "
            f"not {str(wanted)[:40]!r}."
        )
    if not parameters.get("assemblyId"):
        raise BeaconError("assemblyId is required: GRCh38 or GRCh37 (hg38 and hg19 work too).")
    assembly_text = _text(parameters.get("assemblyId"), "assemblyId")
    assembly = ASSEMBLIES.get(assembly_text.lower())
    if assembly is None:
        raise BeaconError(
            f"Unknown assemblyId {assembly_text[:40]!r}: this beacon answers for GRCh38 and "
            "GRCh37 (hg38 and hg19 work too)."
        )
    if "referenceName" not in parameters:
        raise BeaconError("referenceName is required (a chromosome: 1-22, X, Y or MT).")
    chrom = normalise_chrom(_text(parameters["referenceName"], "referenceName"))
    if "start" not in parameters:
        raise BeaconError("start is required (0-based position).")
    start = _position(parameters["start"], "start")
    common: dict[str, Any] = {"assembly": assembly, "chrom": chrom, "start": start}
    common["granularity"] = wanted
    if parameters.get("alternateBases") not in (None, ""):
        if parameters.get("referenceBases") in (None, ""):
            raise BeaconError("A sequence query needs referenceBases as well as alternateBases.")
        return Query(
            **common,
            ref=_bases(parameters["referenceBases"], "referenceBases"),
            alt=_bases(parameters["alternateBases"], "alternateBases"),
            received=_received(parameters),
        )
    if parameters.get("end") in (None, ""):
        raise BeaconError(
            "Give referenceBases and alternateBases (a sequence query) or end (a range query)."
        )
    end = _position(parameters["end"], "end")
    if end <= start:
        raise BeaconError(f"end ({end}) must be greater than start ({start}).")
    if end - start > MAX_RANGE:
        raise BeaconError(
            f"The range is {end - start:,} bases wide; this beacon answers ranges of at most "
            f"{MAX_RANGE:,} bases."
        )
    kinds = None
    if parameters.get("variantType") not in (None, ""):
        named = _text(parameters["variantType"], "variantType").upper()
        if named not in VARIANT_TYPES:
            raise BeaconError(
                f"Unknown variantType {named[:40]!r}: use one of {', '.join(VARIANT_TYPES)}."
            )
        kinds = VARIANT_TYPES[named]
    return Query(**common, end=end, kinds=kinds, received=_received(parameters))


def _received(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in parameters.items()
        if k in _PARAMETERS - {"requestedGranularity", "format", "filters"}
    }


def query_of_post(body: Any) -> Query:
    if not isinstance(body, Mapping):
        raise BeaconError("The body must be a JSON object with a query.requestParameters object.")
    query = body.get("query", {})
    if not isinstance(query, Mapping):
        raise BeaconError("query must be a JSON object.")
    parameters = query.get("requestParameters", {})
    if not isinstance(parameters, Mapping):
        raise BeaconError("query.requestParameters must be a JSON object.")
    if query.get("filters"):
        raise BeaconError("This beacon does not support filters on genomic variants.")
    return parse_query(parameters, granularity=query.get("requestedGranularity"))


# --- the framework's documents ---------------------------------------------------------------


def _summary(query: Query | None, requested: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "requestedSchemas": [VARIANT_SCHEMA],
        "pagination": {"skip": 0, "limit": 0},
        "requestedGranularity": requested,
    }
    if query is not None:
        summary["requestParameters"] = {ENTRY_TYPE: query.received}
    return summary


def response_meta(query: Query | None, *, returned: str, requested: str = "boolean") -> dict:
    return {
        "beaconId": BEACON_ID,
        "apiVersion": API_VERSION,
        "returnedGranularity": returned,
        "receivedRequestSummary": _summary(query, requested),
        "returnedSchemas": [VARIANT_SCHEMA],
    }


def informational_meta() -> dict[str, Any]:
    return {"beaconId": BEACON_ID, "apiVersion": API_VERSION, "returnedSchemas": []}


def error_response(status: int, message: str) -> dict[str, Any]:
    return {
        "meta": response_meta(None, returned="boolean"),
        "error": {"errorCode": status, "errorMessage": message},
    }


def _site() -> str:
    return str(settings.SITE_URL).rstrip("/")


def info_response(base_url: str) -> dict[str, Any]:
    return {
        "meta": informational_meta(),
        "response": {
            "id": BEACON_ID,
            "name": "Custodian Beacon",
            "apiVersion": API_VERSION,
            "environment": "prod" if not settings.DEBUG else "dev",
            "organization": {"id": "custodian", "name": "Custodian", "welcomeUrl": _site()},
            "description": (
                "Does any genome here carry this allele? Answers count only participants whose "
                "current consent permits the asker's purpose; small counts are hidden from "
                "anonymous askers, and query budgets limit what any one person can learn."
            ),
            "welcomeUrl": f"{_site()}/datasets/",
            "alternativeUrl": f"{base_url}/ga4gh/beacon/v2",
            "info": {"maxRangeBases": MAX_RANGE, "assemblies": sorted(set(ASSEMBLIES.values()))},
        },
    }


def service_info(base_url: str) -> dict[str, Any]:
    return {
        "id": BEACON_ID,
        "name": "Custodian Beacon",
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "description": "A consent-aware GA4GH Beacon v2 for genomic variants.",
        "organization": {"name": "Custodian", "url": _site()},
        "contactUrl": f"{_site()}/datasets/",
        "documentationUrl": f"{base_url}/ga4gh/beacon/v2/info",
        "environment": "prod" if not settings.DEBUG else "dev",
        "version": "1.0.0",
    }


_ENTRY_TYPE_DEFINITION = {
    "id": ENTRY_TYPE,
    "name": "Genomic variant",
    "ontologyTermForThisType": {"id": "ENSGLOSSARY:0000092", "label": "Variant"},
    "partOfSpecification": "Beacon v2.0.0",
    "description": "An allele at a position of a reference assembly, in released datasets.",
    "defaultSchema": {
        "id": "ga4gh-beacon-variant-v2.0.0",
        "name": "Default schema for a genomic variation",
        "referenceToSchemaDefinition": (
            "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/"
            "beacon-v2-default-model/genomicVariations/defaultSchema.json"
        ),
        "schemaVersion": "v2.0.0",
    },
    "additionallySupportedSchemas": [],
    "nonFilteredQueriesAllowed": False,
}


def entry_types_response() -> dict[str, Any]:
    return {
        "meta": informational_meta(),
        "response": {"entryTypes": {ENTRY_TYPE: _ENTRY_TYPE_DEFINITION}},
    }


def configuration_response() -> dict[str, Any]:
    return {
        "meta": informational_meta(),
        "response": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "maturityAttributes": {"productionStatus": "DEV" if settings.DEBUG else "PROD"},
            "securityAttributes": {
                "defaultGranularity": "boolean",
                "securityLevels": ["PUBLIC", "REGISTERED", "CONTROLLED"],
            },
            "entryTypes": {ENTRY_TYPE: _ENTRY_TYPE_DEFINITION},
        },
    }


def map_response(base_url: str) -> dict[str, Any]:
    return {
        "meta": informational_meta(),
        "response": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "endpointSets": {
                ENTRY_TYPE: {
                    "entryType": ENTRY_TYPE,
                    "rootUrl": f"{base_url}/ga4gh/beacon/v2/g_variants",
                }
            },
        },
    }


def filtering_terms_response() -> dict[str, Any]:
    return {"meta": informational_meta(), "response": {"filteringTerms": [], "resources": []}}
