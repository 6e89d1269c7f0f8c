"""Paths under CUSTODIAN_DATA_ROOT: the only files a steward may register or the portal serve.

A path is resolved again at every use (registration, validation, delivery): a file that
was safe when registered may since have been replaced by a symbolic link leading out.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from portal.exceptions import PortalError

# The listing on the "add files" page stops here; larger trees are registered by manifest.
LISTING_LIMIT = 5000
# Linux's limits (bytes): a whole path, and one name in it.
PATH_MAX = 4096
NAME_MAX = 255


class DataPathError(PortalError):
    code = "bad_path"


def data_root() -> Path:
    return Path(settings.CUSTODIAN_DATA_ROOT)


@dataclass(frozen=True)
class DataPath:
    relative: str  # POSIX, from the data root: what is stored
    absolute: Path  # fully resolved (symbolic links followed)


def resolve_data_path(path: str, *, root: Path | None = None) -> DataPath:
    """The path inside the data root, or DataPathError naming it.

    Refused: empty paths, any `..` component, absolute paths outside the root, and paths
    whose symbolic links (the file's or a folder's) lead outside the root.
    """
    root = root if root is not None else data_root()
    real_root = root.resolve()
    text = path.strip() if isinstance(path, str) else ""
    if not text:
        raise DataPathError("A file path is required.", code="path_required")
    if "\x00" in text:
        raise DataPathError(f"{text!r}: a path may not contain a NUL character.")
    candidate = Path(text)
    if ".." in candidate.parts:
        raise DataPathError(
            f"{text}: '..' is not allowed in a path; give the path from the data root."
        )
    lexical = Path(os.path.normpath(candidate))
    if lexical.is_absolute():
        # The configured root may itself be a symbolic link: accept either spelling.
        base = next((r for r in (root.absolute(), real_root) if lexical.is_relative_to(r)), None)
        if base is None:
            raise DataPathError(f"{text}: the path is outside the data root.")
        lexical = lexical.relative_to(base)
    if str(lexical) in ("", "."):
        raise DataPathError(f"{text}: this is the data root itself, not a file.")
    # resolve() and exists() keep quiet about a name too long for the filesystem; say it.
    if len(os.fsencode(real_root / lexical)) >= PATH_MAX or any(
        len(os.fsencode(part)) > NAME_MAX for part in lexical.parts
    ):
        too_long = OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        raise filesystem_refusal(lexical.as_posix(), too_long)
    try:
        absolute = (real_root / lexical).resolve()
    except (OSError, RuntimeError) as exc:
        raise filesystem_refusal(lexical.as_posix(), exc) from exc
    if not absolute.is_relative_to(real_root):
        raise DataPathError(
            f"{lexical.as_posix()}: the path leads outside the data root through a "
            "symbolic link; copy the file into the data root instead."
        )
    return DataPath(lexical.as_posix(), absolute)


def filesystem_refusal(relative: str, exc: OSError | RuntimeError) -> DataPathError:
    """What the filesystem said about a path, in words a steward can act on (Python 3.11
    reports a loop of symbolic links as RuntimeError, later versions as ELOOP)."""
    if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
        return DataPathError(
            f"{relative}: the path goes round a loop of symbolic links; fix the links under "
            "the data root.",
            code="path_loop",
        )
    if exc.errno == errno.ENAMETOOLONG:
        return DataPathError(
            f"{relative}: the path cannot be used ({exc.strerror}); give a shorter path from "
            "the data root.",
            code="path_too_long",
        )
    return DataPathError(
        f"{relative}: the path cannot be read ({exc.strerror or exc}).", code="path_unreadable"
    )


def relative_message(message: str, *, root: Path | None = None) -> str:
    """A genomics message with the data root cut from the paths it names.

    Stewards know files by their path from the data root, and the server's own layout
    need not appear in pages or API answers.
    """
    real_root = (root if root is not None else data_root()).resolve()
    return message.replace(f"{real_root}{os.sep}", "")


@dataclass(frozen=True)
class ListedFile:
    path: str
    size: int


def data_root_listing(*, limit: int = LISTING_LIMIT) -> tuple[list[ListedFile], bool]:
    """Regular files under the data root (links leading outside it left out), sorted, and
    whether the listing stopped at `limit`."""
    root = data_root()
    real_root = root.resolve()
    if not real_root.is_dir():
        return [], False
    found: list[ListedFile] = []
    for folder, dirs, files in os.walk(real_root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = Path(folder) / name
            try:
                target = full.resolve()
                if not target.is_relative_to(real_root) or not target.is_file():
                    continue
                size = target.stat().st_size
            except (OSError, RuntimeError):
                continue  # a link loop, or a file gone meanwhile: registering it says which
            found.append(ListedFile(full.relative_to(real_root).as_posix(), size))
            if len(found) >= limit:
                return sorted(found, key=lambda f: f.path), True
    return sorted(found, key=lambda f: f.path), False
