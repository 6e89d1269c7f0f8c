"""Where delivered files are served from: the portal itself (CUSTODIAN_STORAGE=portal, the
default) or an S3-compatible bucket (CUSTODIAN_STORAGE=s3). The only module importing boto3.

With a bucket, each served file (a source as-is or a consent-filtered derivative, and their
indexes) is uploaded once under a key derived from its path under the data root, and a link
is a presigned GET URL made when a page or the API shows it, valid until the link's expiry.
A presigned URL cannot be revoked before then: the portal's checks (revocation, the grant,
current consent) only decide whether a fresh URL is handed out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from functools import lru_cache
from typing import Any

from django.conf import settings

from datasets.paths import resolve_data_path
from portal.exceptions import PortalError

logger = logging.getLogger(__name__)

S3 = "s3"
# SigV4 refuses a presigned URL valid for longer than seven days.
MAX_PRESIGNED_SECONDS = 7 * 86400
# The SHA-256 recorded at validation, kept with the object (x-amz-meta-sha256): a second
# delivery of the same file compares it and the size instead of uploading again.
SHA256_METADATA = "sha256"


class StorageUnavailable(PortalError):
    """The bucket did not take a file; the delivery fails with this message."""

    code = "storage_unavailable"
    http_status = 503


def uses_object_storage() -> bool:
    return settings.CUSTODIAN_STORAGE == S3


def object_key(served_path: str) -> str:
    """The bucket key of a file served from `served_path` (relative to the data root).

    Derivatives are named by their content already, so one key always holds the same bytes.
    """
    prefix = settings.CUSTODIAN_S3_PREFIX.strip("/")
    return f"{prefix}/{served_path}" if prefix else served_path


# boto3 is imported when a bucket is used (it adds ~0.2 s to every process start otherwise).


@lru_cache(maxsize=4)
def _client_for(endpoint_url: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    # Credentials the standard boto3 way (AWS_ACCESS_KEY_ID..., a profile, an instance role).
    # Path-style addressing for a custom endpoint: MinIO, Ceph and moto expect it.
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config
    )


def _client() -> Any:
    return _client_for(settings.CUSTODIAN_S3_ENDPOINT_URL or None, settings.CUSTODIAN_S3_REGION)


def _bucket() -> str:
    return str(settings.CUSTODIAN_S3_BUCKET)


def _already_there(client: Any, key: str, *, sha256: str, size: int) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return (
        head.get("ContentLength") == size
        and head.get("Metadata", {}).get(SHA256_METADATA) == sha256
    )


def publish(served_path: str, *, sha256: str, size: int) -> None:
    """Upload a served file to the bucket unless an object with its key, size and SHA-256 is
    there already; nothing with the portal storage. StorageUnavailable if the bucket refuses.

    boto3's upload_file switches to a multipart upload for large files by itself.
    """
    if not uses_object_storage():
        return
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    key = object_key(served_path)
    client = _client()
    try:
        if _already_there(client, key, sha256=sha256, size=size):
            return
        client.upload_file(
            str(resolve_data_path(served_path).absolute),
            _bucket(),
            key,
            ExtraArgs={
                "Metadata": {SHA256_METADATA: sha256},
                "ContentType": "application/octet-stream",
            },
        )
    except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
        logger.warning("object storage: %s could not be uploaded", key, exc_info=True)
        raise StorageUnavailable(
            f"{served_path.rsplit('/', 1)[-1]} could not be copied to the download storage: "
            f"{_reason(exc)}. Nothing was issued; ask again later, or tell the data steward if "
            "this persists."
        ) from exc


def _reason(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    # upload_file wraps the bucket's ClientError in an S3UploadFailedError (its context).
    client_error = exc if isinstance(exc, ClientError) else exc.__context__
    if isinstance(client_error, ClientError):
        error = client_error.response.get("Error", {})
        return str(error.get("Message") or error.get("Code") or "the storage refused it")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def link_url(served_path: str, *, name: str, expires_at: dt.datetime, now: dt.datetime) -> str:
    """A presigned GET URL for the file, valid until `expires_at` (made now, from `now`).

    The researcher's copy is saved under `name`, whatever the object's key.
    """
    safe_name = name.replace('"', "").replace("\\", "")
    # Rounded down: the URL never outlives the link.
    seconds = min(math.floor((expires_at - now).total_seconds()), MAX_PRESIGNED_SECONDS)
    return str(
        _client().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": _bucket(),
                "Key": object_key(served_path),
                "ResponseContentDisposition": f'attachment; filename="{safe_name}"',
            },
            ExpiresIn=max(seconds, 1),
        )
    )
