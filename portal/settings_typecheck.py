"""The settings mypy's Django plugin imports (pyproject.toml, [tool.django-stubs]).

The plugin imports settings to learn the models; production settings refuse to load
without a SECRET_KEY, so the type check takes the development defaults, whatever the shell
has set. Nothing runs with these settings.
"""

import os

os.environ["DEBUG"] = "1"

from portal.settings import *  # noqa: E402, F403
