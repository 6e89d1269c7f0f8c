"""The project's commands end their --help with examples: an operator's first question is
what a working call looks like."""

from __future__ import annotations

import textwrap
from argparse import RawDescriptionHelpFormatter
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter


class _HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's order of options; the description and examples kept as written."""


class ExampleCommand(BaseCommand):
    """A command with `examples`: each a line of the --help's "examples:" section."""

    examples: ClassVar[tuple[str, ...]] = ()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _HelpFormatter
        parser.description = textwrap.fill(str(parser.description or ""), width=79)
        parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in self.examples)
        return parser
