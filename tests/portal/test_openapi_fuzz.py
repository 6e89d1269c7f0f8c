"""schemathesis against the OpenAPI of a live test server on PostgreSQL, with the demo data,
as a participant, a researcher and a steward (their personal API tokens): every check it
offers, failing on any 5xx and any answer the schema does not describe.

Its run time is bounded by the examples per operation (CUSTODIAN_FUZZ_EXAMPLES, default 5)
and the coverage phase running for one persona: about three and a half minutes on two cores.
tests/schemathesis.toml lists the few operations whose schema-valid input may be refused by a
rule of the data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from portal.models import User
from tests.factories import api_token_for

ROOT = Path(__file__).resolve().parents[2]
PERSONAS = {
    "participant": "participant001@demo.custodian.test",
    "researcher": "researcher@demo.custodian.test",
    "steward": "steward@demo.custodian.test",
}
EXAMPLES = int(os.environ.get("CUSTODIAN_FUZZ_EXAMPLES", "5"))

pytestmark = pytest.mark.fuzz


@pytest.fixture
def demo(transactional_db: None, settings: Any, tmp_path: Path) -> dict[str, str]:
    """The demo data (its genomic files in a data root of this test), and a token each."""
    settings.CUSTODIAN_DATA_ROOT = tmp_path / "data"
    settings.CUSTODIAN_PRIVATE_ROOT = tmp_path / "private"
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return {name: api_token_for(User.objects.get(email=email)) for name, email in PERSONAS.items()}


def _schemathesis(
    url: str, token: str, phases: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(ROOT / "tests" / "schemathesis.toml"),
            "run",
            f"{url}/api/schema/",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            # Why this one is off: tests/schemathesis.toml, [checks.negative_data_rejection].
            "--exclude-checks",
            "negative_data_rejection",
            "--phases",
            phases,
            "--max-examples",
            str(EXAMPLES),
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        # Its example database lands in the working directory: not in the work tree.
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_openapi_fuzz_as_each_persona(
    demo: dict[str, str], live_server: Any, tmp_path: Path
) -> None:
    failed = {}
    # The steward last: its writes (releases, retirements) change what the others see. The
    # coverage phase (every boundary of every parameter, about two minutes) runs once, as the
    # steward, who reaches the most operations; the others are fuzzed.
    for persona, phases in (
        ("participant", "examples,fuzzing"),
        ("researcher", "examples,fuzzing"),
        ("steward", "examples,coverage,fuzzing"),
    ):
        result = _schemathesis(live_server.url, demo[persona], phases, tmp_path)
        if result.returncode != 0:
            failed[persona] = result.stdout[-12000:] + result.stderr[-3000:]

    assert not failed, "\n\n".join(f"=== as the {p}\n{out}" for p, out in failed.items())
