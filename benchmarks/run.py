"""Runs every benchmarks/bench_*.py and writes their Markdown sections to docs/benchmarks.md.

Each script prints one Markdown section on stdout (its own reference measured in the same
run, and the ratio). `BENCH_QUICK=1` shrinks every benchmark for a smoke run;
`python benchmarks/run.py bench_http` runs only the named ones and rewrites just their sections.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUTPUT = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def main(selected: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if selected:
        scripts = [s for s in scripts if s.stem in selected]
    sections: list[str] = []
    failed = []
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, check=False
        )
        sys.stderr.write(result.stderr[-4000:])
        if result.returncode != 0:
            failed.append(script.name)
            sections.append(
                f"## {script.stem}\n\nFailed (exit {result.returncode}); see the log.\n"
            )
        else:
            sections.append(result.stdout.strip() + "\n")
        print(sections[-1])
    if selected:
        _replace_sections(sections)
        return 1 if failed else 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python benchmarks/run.py`). Every figure is compared with a\n"
        "reference measured in the same run on the same machine, because absolute numbers on\n"
        "a shared 2-core machine are noisy.\n\n"
        f"Last run: {stamp}, on {machine()}"
        f"{', quick mode' if os.environ.get('BENCH_QUICK') else ''}.\n\n"
    )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(header + "\n".join(sections))
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failed else 0


def _replace_sections(sections: list[str]) -> None:
    """A partial run rewrites only its own sections of docs/benchmarks.md (by heading)."""
    if not OUTPUT.exists():
        return
    text = OUTPUT.read_text()
    for section in sections:
        heading = section.split("\n", 1)[0]
        start = text.find(heading + "\n")
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + section
            continue
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")
    OUTPUT.write_text(text)
    print(f"updated {len(sections)} section(s) of {OUTPUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
