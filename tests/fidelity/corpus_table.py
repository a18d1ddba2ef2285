"""Print the corpus table for README.md from real runs of `closure-readiness check`.

Run from the repository root: .venv/bin/python tests/fidelity/corpus_table.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIDELITY = Path(__file__).resolve().parent
REPO_ROOT = FIDELITY.parents[1]
CLI = Path(sys.executable).parent / "closure-readiness"


def actual(file: str) -> tuple[str, list[str]]:
    done = subprocess.run(
        [str(CLI), "check", str(FIDELITY / file), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode not in (0, 1):
        return "invalid", []
    report = json.loads(done.stdout)
    ids = sorted(
        {
            finding["check_id"]
            for result in report["results"]
            for finding in result["findings"]
            if finding["resolution"] == "open"
        }
    )
    return ("ready" if done.returncode == 0 else "blocked"), ids


def main() -> None:
    corpus = json.loads((FIDELITY / "corpus.json").read_text(encoding="utf-8"))
    print("| case | source | expected | actual |")
    print("|---|---|---|---|")
    for entry in corpus:
        outcome, ids = actual(entry["file"])
        expected = entry["expected_outcome"] + _ids(sorted(entry["expected_ids"]))
        got = outcome + _ids(ids)
        if entry.get("known_disagreement"):
            got += " **(known disagreement)**"
        address = entry["source"]["address"]
        title = entry.get("sources_entry") or "synthetic control case"
        source = f"[{title}]({address})" if address else title
        print(f"| `{entry['file']}` | {source} | {expected} | {got} |")


def _ids(ids: list[str]) -> str:
    return ": " + ", ".join(f"`{check_id}`" for check_id in ids) if ids else ""


if __name__ == "__main__":
    main()
