"""Log records of requests: each names its request id; a refusal is one line, no traceback."""

from __future__ import annotations

import logging

# Refusals are the portal doing its job: worth a line (who probes what), not a traceback.
REFUSALS = frozenset({403, 404})


class RequestLogFilter(logging.Filter):
    """On the `django.request` logger: appends the request id to every record, and turns a
    403/404 (Django logs PermissionDenied with its traceback at WARNING) into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Imported here: logging is configured before the apps (portal.audit has models).
        from portal.audit import request_id_var

        request = getattr(record, "request", None)
        request_id = getattr(request, "request_id", "") or request_id_var.get() or "-"
        if not getattr(record, "_custodian_tagged", False):
            record.msg = f"{record.msg} [request {request_id}]"
            record._custodian_tagged = True
        if getattr(record, "status_code", None) in REFUSALS:
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
        return True
