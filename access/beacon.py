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

from consent.duo.terms import UnknownTermError, term
from datasets.genomics.variants import DELETION, INSERTION, MNP, SNP, SYMBOLIC, normalise_chrom
from datasets.models import ACCESSION_PREFIX
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
# Record granularity is paged (Beacon v2 `pagination`): `limit` records per result set, the
# spec's default 10, at most MAX_LIMIT (each record lists every consenting carrier, up to a
# file's whole sample set); `skip` counts pages, as the framework defines it.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SKIP = 1_000_000
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
ACCESSION = re.compile(rf"{re.escape(ACCESSION_PREFIX)}\d{{6,}}")
DUO_ID = re.compile(r"DUO:\d{7}")
# The entry type a filter may name as its scope (Beacon uses both spellings).
_SCOPES = frozenset({ENTRY_TYPE, "genomicVariants", "genomicVariations", "g_variants"})
_FILTER_KEYS = frozenset({"id", "scope", "includeDescendantTerms", "similarity"})
MAX_FILTERS = 20
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
class Filter:
    """One Beacon v2 filter this beacon understands (see `filtering_terms`):

    - a DUO term (`DUO:0000042`): only datasets whose data-use conditions carry the term, or
      with `includeDescendantTerms` (the spec's default) a term below it in DUO;
    - a dataset accession (`CDS000001`, a custom term): only that dataset.

    Several filters must all hold (the spec's AND)."""

    id: str
    descendants: bool = True

    @property
    def is_dataset(self) -> bool:
        return bool(ACCESSION.fullmatch(self.id))

    def describe(self) -> dict[str, Any]:
        if self.is_dataset:
            return {"id": self.id}
        return {"id": self.id, "includeDescendantTerms": self.descendants}


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
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    filters: tuple[Filter, ...] = ()
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
        found["requestedGranularity"] = self.granularity
        if self.filters:
            found["filters"] = [f.describe() for f in self.filters]
        if self.granularity == "record":
            found["pagination"] = {"skip": self.skip, "limit": self.limit}
        return found

    @property
    def offset(self) -> int:
        """The first record of the requested page, within each result set."""
        return self.skip * self.limit


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


def _whole(value: Any, name: str, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BeaconError(f"{name} must be a whole number, not {str(value)[:40]!r}.")
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,10}", text):
        raise BeaconError(f"{name} must be a whole number of 0 or more, not {text[:40]!r}.")
    if int(text) > maximum:
        raise BeaconError(f"{name} must be at most {maximum:,}, not {text}.")
    return int(text)


def _pagination(skip: Any, limit: Any) -> dict[str, int]:
    found = {"skip": 0, "limit": DEFAULT_LIMIT}
    if skip not in (None, ""):
        found["skip"] = _whole(skip, "skip (pages to skip)", maximum=MAX_SKIP)
    if limit not in (None, ""):
        # The spec's 0: "all the results, or the maximum allowed by the Beacon".
        found["limit"] = _whole(limit, "limit (records per page)", maximum=MAX_LIMIT) or MAX_LIMIT
    return found


def _filter(value: Any) -> Filter:
    if isinstance(value, str):
        value = {"id": value}
    if not isinstance(value, Mapping):
        raise BeaconError("Each filter must be an object with an id, or an id.")
    unknown = sorted(set(value) - _FILTER_KEYS)
    if "operator" in value or "value" in value:
        raise BeaconError(
            "Alphanumeric filters (with an operator and a value) are not supported: this beacon "
            "filters on DUO terms and dataset accessions (see /filtering_terms)."
        )
    if unknown:
        raise BeaconError(f"Unknown filter field(s): {', '.join(unknown)}.")
    ident = value.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise BeaconError("Each filter needs an id (a DUO term or a dataset accession).")
    ident = ident.strip()
    scope = value.get("scope")
    if scope is not None and scope not in _SCOPES:
        raise BeaconError(
            f"This beacon's filters apply to {ENTRY_TYPE} only, not {str(scope)[:40]!r}."
        )
    if value.get("similarity", "exact") != "exact":
        raise BeaconError("Only exact filters are supported (similarity 'exact').")
    descendants = value.get("includeDescendantTerms", True)
    if not isinstance(descendants, bool):
        raise BeaconError("includeDescendantTerms must be true or false.")
    if ACCESSION.fullmatch(ident):
        return Filter(ident)
    if DUO_ID.fullmatch(ident.upper()):
        try:
            found = term(ident)
        except UnknownTermError:
            found = None
        if found is not None and not found.obsolete:
            return Filter(found.id, descendants)
    raise BeaconError(
        f"Unknown filter {ident[:40]!r}: this beacon filters on DUO terms (such as "
        f"DUO:0000042) and dataset accessions (such as {ACCESSION_PREFIX}000001); "
        "/filtering_terms lists the ones in use."
    )


def parse_filters(value: Any) -> tuple[Filter, ...]:
    """GET's comma-separated ids, or POST's list of filter objects (or ids)."""
    if value in (None, "", []):
        return ()
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise BeaconError("filters must be a list of filters (or comma-separated ids).")
    if len(value) > MAX_FILTERS:
        raise BeaconError(f"At most {MAX_FILTERS} filters, not {len(value)}.")
    return tuple(dict.fromkeys(_filter(v) for v in value))


def parse_query(
    parameters: Mapping[str, Any],
    *,
    granularity: Any = None,
    filters: Any = None,
    pagination: Mapping[str, Any] | None = None,
) -> Query:
    """A Query from GET parameters or a POST body's requestParameters; BeaconError if not."""
    unknown = sorted(set(parameters) - _PARAMETERS)
    if unknown:
        raise BeaconError(f"Unknown parameter(s): {', '.join(unknown)}.")
    chosen = parse_filters(filters if filters is not None else parameters.get("filters"))
    paging = pagination if pagination is not None else parameters
    pages = _pagination(paging.get("skip"), paging.get("limit"))
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
    common |= {"granularity": wanted, "filters": chosen, **pages}
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
        if k in _PARAMETERS - {"requestedGranularity", "format", "filters", "skip", "limit"}
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
    pagination = query.get("pagination")
    if pagination is not None:
        if not isinstance(pagination, Mapping):
            raise BeaconError("query.pagination must be a JSON object with skip and limit.")
        tokens = sorted(set(pagination) - {"skip", "limit"})
        if tokens:
            raise BeaconError(
                f"Unsupported pagination field(s): {', '.join(tokens)}; page with skip and limit."
            )
    return parse_query(
        parameters,
        granularity=query.get("requestedGranularity"),
        filters=query.get("filters"),
        pagination=pagination,
    )


# --- the framework's documents ---------------------------------------------------------------


def _summary(query: Query | None, requested: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "requestedSchemas": [VARIANT_SCHEMA],
        "pagination": {"skip": 0, "limit": DEFAULT_LIMIT},
        "requestedGranularity": requested,
    }
    if query is not None:
        summary["requestParameters"] = {ENTRY_TYPE: query.received}
        summary["pagination"] = {"skip": query.skip, "limit": query.limit}
        if query.filters:
            summary["filters"] = [f.id for f in query.filters]
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
            "info": {
                "maxRangeBases": MAX_RANGE,
                "assemblies": sorted(set(ASSEMBLIES.values())),
                # Record granularity's pages: `skip` counts pages of `limit` records.
                "pagination": {"defaultLimit": DEFAULT_LIMIT, "maxLimit": MAX_LIMIT},
                "filters": "DUO terms and dataset accessions: see /filtering_terms",
            },
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


DUO_RESOURCE = {
    "id": "duo",
    "name": "Data Use Ontology",
    "nameSpacePrefix": "DUO",
    "iriPrefix": "http://purl.obolibrary.org/obo/DUO_",
    "url": "http://purl.obolibrary.org/obo/duo.owl",
    "version": "2021-02-23",
}


def filtering_terms_response(terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "meta": informational_meta(),
        "response": {"filteringTerms": terms, "resources": [DUO_RESOURCE]},
    }
