"""GA4GH htsget 1.3: what a ticket request asks for, and the ticket for the caller.

Ids are DRS's (access/selectors/drs.py): `<accession>-<data file id>`, or the consent-filtered
copy's `<that>.<16 hex>`. A BAM, VCF.gz or BCF's ticket holds one URL: the slicing endpoint
(`access:slice`, access/views/htsget.py) under the caller's own signed delivery link, checked
like a download on every request (`link_for_download`), which writes the region through
pysam (a variant file as VCF or BCF, whichever is asked). A CRAM's ticket holds byte ranges
of the CRAM itself under that link (`datasets.genomics.cram_ranges`): a reads file is
delivered whole or not at all, so its bytes are the delivery's. Finding or asking for the
delivery is DRS's (`drs_access`, `drs_delivery_request`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pysam
from django.urls import reverse

from access.models import DeliveryFile, SignedLink
from access.selectors.deliveries import Servable, link_for_download
from access.selectors.drs import (
    ACCESS_ID,
    AccessUrl,
    Caller,
    NeedsDelivery,
    Preparing,
    drs_access,
    object_id_parse,
)
from datasets.genomics import GenomicFileError
from datasets.genomics.cram_ranges import CramLayout, cram_byte_ranges, cram_layout
from datasets.models import DataFile, DataFileFormat, FileStatus
from datasets.paths import resolve_data_path
from portal.exceptions import PortalError

READS = "reads"
VARIANTS = "variants"
# htsget's format names each endpoint answers in, its default first.
FORMATS = {READS: ("BAM", "CRAM"), VARIANTS: ("VCF", "BCF")}
# The data files behind the endpoints, and the formats each is served in: a variant file
# either way (the slicing endpoint writes the region through pysam), a BAM as BAM and a CRAM
# as CRAM (byte ranges of the file itself: turning one into the other needs the reference
# sequence the reads were aligned to, which the portal does not keep).
SERVED_AS = {
    DataFileFormat.BAM: ("BAM",),
    DataFileFormat.CRAM: ("CRAM",),
    DataFileFormat.VCF_GZ: ("VCF", "BCF"),
    DataFileFormat.BCF: ("VCF", "BCF"),
}
_ENDPOINT_FILES = {
    READS: (DataFileFormat.BAM, DataFileFormat.CRAM),
    VARIANTS: (DataFileFormat.VCF_GZ, DataFileFormat.BCF),
}
# htsget 1.3 error names by status.
ERROR_NAMES = {
    400: "InvalidInput",
    401: "InvalidAuthentication",
    403: "PermissionDenied",
    404: "NotFound",
}


class HtsgetError(PortalError):
    """A refusal rendered as {"htsget": {"error": name, "message": ...}}."""

    code = "htsget_error"

    def __init__(self, name: str, message: str, http_status: int = 400) -> None:
        super().__init__(message, http_status=http_status)
        self.name = name


def invalid_input(message: str) -> HtsgetError:
    return HtsgetError("InvalidInput", message)


def invalid_range(message: str) -> HtsgetError:
    return HtsgetError("InvalidRange", message)


@dataclass(frozen=True)
class Region:
    """0-based, half-open; None: from the start / to the end of the reference."""

    name: str
    start: int | None = None
    end: int | None = None

    def as_param(self) -> str:
        start = "" if self.start is None else str(self.start)
        end = "" if self.end is None else str(self.end)
        return f"{self.name}:{start}-{end}"


@dataclass(frozen=True)
class Query:
    endpoint: str
    header_only: bool
    regions: tuple[Region, ...]  # empty: the whole file
    format: str | None = None  # as asked; None: the endpoint's default


def _integer(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid_input(f"{field} must be a whole number.")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value))
        except ValueError:
            raise invalid_input(f"{field} must be a whole number, not {value!r}.") from None
    if number < 0 or number > 2**32:
        raise invalid_input(f"{field} must be between 0 and 2^32 (it is {number}).")
    return number


def _region(reference: Any, start: Any, end: Any) -> Region | None:
    first, last = _integer(start, "start"), _integer(end, "end")
    if reference in (None, ""):
        if first is not None or last is not None:
            raise invalid_input("start and end need a referenceName.")
        return None
    if not isinstance(reference, str):
        raise invalid_input("referenceName must be a string.")
    if reference == "*":
        raise invalid_input("Unplaced reads (referenceName '*') are not served here.")
    if first is not None and last is not None and first > last:
        raise invalid_range(f"start ({first}) is greater than end ({last}).")
    return Region(reference, first, last)


def _format(endpoint: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    wanted = str(value).upper()
    if wanted in FORMATS[endpoint]:
        return wanted
    if any(wanted in names for names in FORMATS.values()):
        raise HtsgetError(
            "UnsupportedFormat",
            f"{wanted} is not served from /{endpoint}: ask for format "
            f"{' or '.join(FORMATS[endpoint])}.",
        )
    raise HtsgetError("UnsupportedFormat", f"Unknown format {value!r}.")


def _class(value: Any) -> bool:
    if value in (None, "", "body"):
        return False
    if value == "header":
        return True
    raise invalid_input(f"class must be 'header' (or left out), not {value!r}.")


def query_of_get(endpoint: str, params: Any) -> Query:
    """The GET parameters: format, class, referenceName, start, end (fields, tags and
    notags may be sent and are ignored: whole records are returned)."""
    wanted = _format(endpoint, params.get("format"))
    header_only = _class(params.get("class"))
    region = _region(params.get("referenceName"), params.get("start"), params.get("end"))
    if header_only and region is not None:
        raise invalid_input("class=header takes no referenceName, start or end.")
    return Query(endpoint, header_only, (region,) if region else (), wanted)


def query_of_post(endpoint: str, body: Any) -> Query:
    """The POST body: format, class, regions [{referenceName, start, end}]."""
    if not isinstance(body, dict):
        raise invalid_input("The body must be a JSON object.")
    wanted = _format(endpoint, body.get("format"))
    header_only = _class(body.get("class"))
    raw = body.get("regions")
    regions: list[Region] = []
    if raw is not None:
        if not isinstance(raw, list):
            raise invalid_input("regions must be a list of {referenceName, start, end}.")
        for entry in raw:
            if not isinstance(entry, dict) or not entry.get("referenceName"):
                raise invalid_input("Each region needs a referenceName.")
            region = _region(entry["referenceName"], entry.get("start"), entry.get("end"))
            if region is not None:
                regions.append(region)
    if header_only and regions:
        raise invalid_input("class=header takes no regions.")
    return Query(endpoint, header_only, tuple(regions), wanted)


def region_of_param(value: str) -> Region:
    """A slicing URL's `region=<name>:<start>-<end>` (either bound may be empty)."""
    name, _, bounds = value.rpartition(":")
    start, _, end = bounds.partition("-")
    region = _region(name, start, end)
    if region is None:
        raise invalid_input("A region needs a reference name.")
    return region


# --- the file behind an id, and its index ----------------------------------------------------


def _datafile(endpoint: str, raw_id: str) -> DataFile:
    object_id = object_id_parse(raw_id)
    datafile = (
        DataFile.objects.filter(
            pk=object_id.datafile_id,
            dataset__accession=object_id.accession,
            status=FileStatus.VALID,
            index_of__isnull=True,
        )
        .select_related("index")
        .first()
    )
    if datafile is None or datafile.format not in _ENDPOINT_FILES[endpoint]:
        raise HtsgetError(
            "NotFound", f"There is no {endpoint} object {raw_id!r} here.", http_status=404
        )
    return datafile


def index_of_served(served: Servable) -> str | None:
    """The index served with a link's file (same delivery), as an absolute path."""
    link = SignedLink.objects.select_related("delivery_file").filter(pk=served.link_id).first()
    if link is None:
        return None
    index = (
        DeliveryFile.objects.filter(
            delivery_id=link.delivery_file.delivery_id,
            datafile__index_of_id=link.delivery_file.datafile_id,
        )
        .order_by("-pk")
        .first()
    )
    if index is None:
        return None
    return str(resolve_data_path(index.served_path).absolute)


def open_served(endpoint: str, served: Servable) -> Any:
    """The pysam file of a served link (with its delivered index)."""
    index = index_of_served(served)
    if endpoint == READS:
        return pysam.AlignmentFile(str(served.path), "rb", index_filename=index)
    return pysam.VariantFile(str(served.path), index_filename=index)


def open_cram_header(path: Path) -> Any:
    """A CRAM opened for its header (its sequences are never decoded, so its reference is
    not needed)."""
    return pysam.AlignmentFile(
        str(path), "rc", check_sq=False, format_options=["required_fields=0xF"]
    )


def references(handle: Any) -> dict[str, int]:
    """Reference names and lengths in a file's header."""
    if isinstance(handle, pysam.AlignmentFile):
        return dict(zip(handle.references, handle.lengths, strict=True))
    return {name: (contig.length or 2**31) for name, contig in handle.header.contigs.items()}


def check_regions(query: Query, names: dict[str, int]) -> None:
    for region in query.regions:
        if region.name not in names:
            raise HtsgetError(
                "NotFound",
                f"The file has no reference named {region.name!r}.",
                http_status=404,
            )
        length = names[region.name]
        if region.start is not None and region.start >= length:
            raise invalid_range(
                f"start ({region.start}) is past the end of {region.name} ({length})."
            )


# (link token, file name) -> reference names and lengths of the file the link serves: a link
# serves one file, which never changes under it (link_for_download refuses one whose size
# moved, and the slicing endpoint checks the link and the regions again), so its header is
# read once per process. Bounded only to keep memory flat.
_headers: dict[tuple[str, str], dict[str, int]] = {}
_HEADERS_MAX = 1_000


def _references_of(endpoint: str, token: str, name: str) -> dict[str, int]:
    key = (token, name)
    known = _headers.get(key)
    if known is None:
        with open_served(endpoint, link_for_download(token, name)) as handle:
            known = references(handle)
        if len(_headers) >= _HEADERS_MAX:
            _headers.clear()
        _headers[key] = known
    return known


# --- tickets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    format: str
    urls: tuple[dict[str, Any], ...]

    def as_htsget(self) -> dict[str, Any]:
        return {"htsget": {"format": self.format, "urls": list(self.urls)}}


def _link_parts(access: AccessUrl) -> tuple[str, str]:
    """(token, file name) of a signed download link."""
    parts = urlsplit(access.url).path.rstrip("/").split("/")
    if len(parts) < 3 or parts[-3] != "download":
        raise HtsgetError(
            "Unavailable",
            "This portal serves its files from object storage, which cannot slice a region: "
            "fetch the whole file through DRS instead.",
            http_status=503,
        )
    return parts[-2], parts[-1]


def _answer_format(datafile: DataFile, raw_id: str, query: Query) -> str:
    served = SERVED_AS[DataFileFormat(datafile.format)]
    wanted = query.format or FORMATS[query.endpoint][0]
    if wanted in served:
        return wanted
    why = (
        " (turning one into the other needs the reference sequence the reads were aligned "
        "to, which this portal does not keep)"
        if query.endpoint == READS
        else ""
    )
    raise HtsgetError(
        "UnsupportedFormat",
        f"{raw_id} is a {datafile.get_format_display()} file, served as "
        f"{' or '.join(served)}: ask for format={served[0]}{why}.",
    )


# (data file id, its SHA-256) -> its CRAM layout and reference names: a registered file is
# never changed under its id (a changed file is refused at download), so both are read once
# per process. Bounded only to keep memory flat.
_crams: dict[tuple[int, str], tuple[CramLayout, list[str], dict[str, int]]] = {}


def _cram_of(datafile: DataFile) -> tuple[CramLayout, list[str], dict[str, int]]:
    key = (datafile.pk, datafile.sha256)
    known = _crams.get(key)
    if known is None:
        index = getattr(datafile, "index", None)
        if index is None:
            raise HtsgetError(
                "Unavailable",
                f"{datafile.path} has no index registered, so its regions cannot be found.",
                http_status=503,
            )
        path = resolve_data_path(datafile.path).absolute
        try:
            layout = cram_layout(path, resolve_data_path(index.path).absolute)
            with open_cram_header(path) as handle:
                names = references(handle)
        except (OSError, GenomicFileError) as exc:
            raise HtsgetError(
                "Unavailable", f"{datafile.path} cannot be read now.", http_status=503
            ) from exc
        known = (layout, list(names), names)
        if len(_crams) >= _HEADERS_MAX:
            _crams.clear()
        _crams[key] = known
    return known


def _cram_ticket(datafile: DataFile, query: Query, access: AccessUrl) -> Ticket:
    """Byte ranges of the CRAM itself under the caller's signed link (any storage)."""
    layout, order, names = _cram_of(datafile)
    check_regions(query, names)
    wanted = [(order.index(r.name), r.start, r.end) for r in query.regions]
    ranges = cram_byte_ranges(layout, wanted, header_only=query.header_only)
    urls = tuple(
        {
            "url": access.url,
            "headers": {"Range": r.header_value},
            "class": r.klass,
        }
        for r in ranges
    )
    return Ticket("CRAM", urls)


def ticket(
    caller: Caller, endpoint: str, raw_id: str, query: Query, *, base_url: str
) -> Ticket | Preparing | NeedsDelivery:
    """The ticket for the caller's own delivery of the object, or the delivery still being
    (or to be) prepared."""
    datafile = _datafile(endpoint, raw_id)
    answer_format = _answer_format(datafile, raw_id, query)
    found = drs_access(caller, object_id_parse(raw_id), ACCESS_ID, base_url=base_url)
    if not isinstance(found, AccessUrl):
        return found
    if answer_format == "CRAM":
        return _cram_ticket(datafile, query, found)
    token, name = _link_parts(found)
    if query.regions:
        check_regions(query, _references_of(endpoint, token, name))
    params: list[tuple[str, str]] = []
    if query.header_only:
        params.append(("class", "header"))
    if answer_format != FORMATS[endpoint][0]:
        params.append(("format", answer_format))
    params.extend(("region", region.as_param()) for region in query.regions)
    path = reverse("access:slice", kwargs={"token": token, "filename": name})
    url = f"{base_url}{path}"
    if params:
        url += "?" + urlencode(params)
    return Ticket(answer_format, ({"url": url},))


def _samtools_region(region: Region) -> str:
    """htsget's 0-based half-open range as samtools' 1-based closed one ({} around the name
    so a name holding ':' stays whole)."""
    name = "{" + region.name + "}"
    if region.start is None and region.end is None:
        return name
    start = (region.start or 0) + 1
    return f"{name}:{start}-{region.end}" if region.end is not None else f"{name}:{start}"


def slice_file(
    endpoint: str,
    served: Servable,
    header_only: bool,
    regions: list[Region],
    answer_format: str | None = None,
) -> Path:
    """Writes the header, or the records overlapping the regions (all of them when none),
    to a temporary file in `answer_format` (the endpoint's default when None: BAM, VCF.gz);
    the caller streams and removes it."""
    answer_format = answer_format or FORMATS[endpoint][0]
    suffix = {"BAM": ".bam", "VCF": ".vcf.gz", "BCF": ".bcf"}[answer_format]
    handle, name = tempfile.mkstemp(prefix="htsget-", suffix=suffix)
    os.close(handle)
    with open_served(endpoint, served) as source:
        names = references(source)
        check_regions(Query(endpoint, header_only, tuple(regions)), names)
        if endpoint == READS and not header_only:
            # samtools in-process: the same overlap semantics as pysam's fetch, about three
            # times faster than writing the records from Python. Compression level 1: pysam's
            # htslib has no libdeflate, and at the default level it took 2.7x Debian's
            # samtools' time; at 1 about the same time for an answer ~10% larger
            # (benchmarks/bench_htsget.py).
            index = index_of_served(served)
            source_args = ["-X", str(served.path), index] if index else [str(served.path)]
            wanted = [_samtools_region(region) for region in regions]
            pysam.samtools.view(
                "-O",
                "BAM,level=1",
                "--no-PG",
                "-o",
                name,
                *source_args,
                *wanted,
                catch_stdout=False,
            )
            return Path(name)
        if endpoint == READS:
            out: Any = pysam.AlignmentFile(name, "wb", template=source)
        else:
            mode = "wb" if answer_format == "BCF" else "wz"
            out = pysam.VariantFile(name, mode, header=source.header)
        with out:
            if header_only:
                pass
            elif not regions:
                records = source.fetch(until_eof=True) if endpoint == READS else iter(source)
                for record in records:
                    out.write(record)
            else:
                for region in regions:
                    for record in source.fetch(region.name, region.start, region.end):
                        out.write(record)
    return Path(name)
