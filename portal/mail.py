"""Where the demo's emails go: appended to one file that `make run` names in its banner.

Django's file backend writes a new file per connection, so a steward looking for an
invitation link would have to find the newest of many; the worker's pool processes append
to the same file instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend


class AppendFileEmailBackend(FileEmailBackend):
    """Every message appended to the file EMAIL_FILE_PATH (its folder is created)."""

    def __init__(self, file_path: str | None = None, **kwargs: Any) -> None:
        path = Path(file_path or settings.EMAIL_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        # The parent checks that file_path is a writable folder: give it the file's.
        super().__init__(file_path=str(path.parent), **kwargs)

    def _get_filename(self) -> str:
        return str(self._path)
