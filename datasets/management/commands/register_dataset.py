"""Register files listed in a manifest, into an existing draft dataset or a new one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from datasets import selectors, services
from datasets.manifest import read_manifest
from datasets.models import Dataset, FileStatus
from datasets.selectors import committees
from portal.exceptions import PortalError
from portal.management.base import ExampleCommand
from portal.models import Role, User


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD).") from exc


class Command(ExampleCommand):
    help = (
        "Register the files of MANIFEST.tsv (columns: path, optional format, optional sample "
        "mapping file) in a draft dataset, all or nothing; validation is queued per file, or "
        "run here with --sync (then the exit status is 1 if any file fails)."
    )
    examples = (
        "manage.py register_dataset manifest.tsv --steward steward@example.org "
        "--title 'Cohort genotypes' --committee 'Genomics DAC' --permission GRU --sync",
        "manage.py register_dataset more.tsv --steward steward@example.org --dataset CDS000001",
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--steward", required=True, help="Email of the registering steward")
        parser.add_argument("--dataset", help="Accession of an existing draft dataset")
        parser.add_argument("--title", help="Title of a new dataset")
        parser.add_argument("--description", default="")
        parser.add_argument("--committee", help="Name of the new dataset's committee")
        parser.add_argument("--permission", help="DUO permission: GRU, HMB, DS, POA or NRES")
        parser.add_argument("--modifier", action="append", default=[], help="Repeatable")
        parser.add_argument("--disease", action="append", default=[], help="Repeatable (DS)")
        parser.add_argument("--country", action="append", default=[], help="Repeatable (GS)")
        parser.add_argument("--time-limit", type=_date, help="Last day of use (TS)")
        parser.add_argument("--moratorium-until", type=_date, help="First publication day (MOR)")
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Validate here, one file after another, instead of queueing the worker",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        steward = User.objects.filter(email=options["steward"].lower()).first()
        if steward is None or not steward.has_role(Role.STEWARD):
            raise CommandError(f"No data steward has the email {options['steward']}.")
        manifest = read_manifest(options["manifest"])
        try:
            # One transaction: a bad manifest leaves no new dataset and no file behind.
            with transaction.atomic():
                dataset = self._dataset(steward, options)
                problems = list(manifest.problems)
                created: list[Any] = []
                try:
                    created = services.datafiles_register(
                        actor=steward,
                        dataset=dataset,
                        entries=manifest.entries,
                        sample_links=manifest.links,
                        start_validation=not options["sync"],
                    )
                except services.DatasetProblems as exc:
                    problems += exc.problems
                if problems:
                    raise services.RegistrationError(problems)
        except PortalError as exc:
            lines = getattr(exc, "problems", None) or (exc.message,)
            raise CommandError(
                "Nothing was registered:\n" + "\n".join(f"  {p}" for p in lines)
            ) from exc
        data = [f for f in created if not f.is_index]
        self.stdout.write(
            f"{dataset.accession}: registered {len(data)} file(s) and "
            f"{len(created) - len(data)} index(es), {len(manifest.links)} sample link(s)."
        )
        if options["sync"]:
            self._validate_here(steward, data)
        else:
            self.stdout.write("Validation is queued: a worker checks each file.")

    def _dataset(self, steward: User, options: dict[str, Any]) -> Dataset:
        if options["dataset"]:
            dataset = selectors.steward_dataset(options["dataset"])
            if dataset is None:
                raise CommandError(f"No dataset has the accession {options['dataset']}.")
            return dataset
        if not options["title"] or not options["committee"] or not options["permission"]:
            raise CommandError(
                "Give --dataset ACCESSION, or --title, --committee and --permission for a new one."
            )
        committee = committees().filter(name=options["committee"]).first()
        if committee is None:
            raise CommandError(f"No committee is named {options['committee']!r}.")
        return services.dataset_create(
            actor=steward,
            title=options["title"],
            description=options["description"],
            committee=committee,
            permission=options["permission"],
            modifiers=options["modifier"],
            diseases=options["disease"],
            countries=options["country"],
            time_limit=options["time_limit"],
            moratorium_until=options["moratorium_until"],
        )

    def _validate_here(self, steward: User, files: list[Any]) -> None:
        """Each file named once: a valid one on its own line, a failed one in the error with
        its problems below it (each problem's message starts with the path: said once)."""
        self.stdout.write("Validating here (the same service the worker's task runs):")
        failed, lines = 0, []
        for file in files:
            services.datafile_validation_start(actor=steward, file=file, queue=False)
            done = services.datafile_validate(file=file)
            if done.status == FileStatus.VALID:
                self.stdout.write(f"  {done.path}: valid")
                continue
            messages = [p["message"] for p in done.problems if p.get("severity") == "fatal"]
            failed += 1
            lines.append(f"  {done.path}: failed")
            lines += [
                f"    {m.removeprefix(f'{done.path}: ')}"
                for m in messages or [done.validation_message]
            ]
        if failed:
            raise CommandError(
                f"{failed} of {len(files)} file(s) failed validation (the others are valid; "
                "fix each file, then validate it again on the dataset's page or with the "
                "API):\n" + "\n".join(lines)
            )
