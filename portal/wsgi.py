from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

try:
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One line naming the variable, not a traceback, for the operator.
    sys.stderr.write(f"custodian: {exc}\n")
    raise SystemExit(2) from None
