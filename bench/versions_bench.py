"""Saved versions of a review (issue 12, item 5): bytes kept per review and the time of a save,
whole copies (before) against compact deltas (after), each against its floor.

A review is built the way a worker builds it in a sitting, one save per widget change: each
evidence item added (a form), each incident, each answer, each rationale, then a correction to
every fifth evidence item's text; then it is signed off. "Before" is the same sitting with
every version stored whole (`FULL_EVERY = 1`, what the code stored until this item) and every
evidence row rewritten on each save.

The floor of a save is raw sqlite3 writing the same rows in one transaction (synchronous=FULL,
WAL): the review's new content, the version row as stored, the evidence rows the save wrote
and an audit event.

    python -m bench.versions_bench [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.store_bench import signable_review_with_evidence
from closure_readiness.core.delta import is_delta_text
from closure_readiness.core.review import Review
from closure_readiness.core.seal import evidence_register
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import SYSTEM, Context, InvalidInput, Principal, Role
from closure_readiness.storage import repositories, versions
from closure_readiness.storage.database import reading

_START = dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC)


def sitting(final: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents a worker saves on the way to `final`, one per widget change."""
    document = copy.deepcopy(final)
    document["evidence"], document["incidents"], document["rationales"] = [], [], {}
    blank = Review(case=Review.model_validate(final).case).model_dump(mode="json")
    document["answers"] = copy.deepcopy(blank["answers"])
    steps: list[dict[str, Any]] = []

    def step() -> None:
        steps.append(copy.deepcopy(document))

    for item in final["evidence"]:
        document["evidence"].append(item)
        step()
    for incident in final.get("incidents", []):
        document["incidents"].append(incident)
        step()
    for section, answers in final["answers"].items():
        if not isinstance(answers, dict):
            document["answers"][section] = answers
            step()
            continue
        for name, value in answers.items():
            if document["answers"][section].get(name) != value:
                document["answers"][section][name] = value
                step()
    for check_id, text in final.get("rationales", {}).items():
        document["rationales"][check_id] = text
        step()
    for index in range(0, len(final["evidence"]), 5):  # a correction to every fifth item
        item = document["evidence"][index]
        document["evidence"][index] = {**item, "shows": item["shows"] + " (checked with them)"}
        step()
        document["evidence"][index] = item
        step()
    return steps


class _Clock:
    def __init__(self) -> None:
        self.now = _START

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=20)
        return self.now


@dataclass
class Sat:
    """A review built by a sitting: its id, the saves' times (s) and the rows they wrote."""

    ctx: Context
    review_id: int
    saves: list[float]
    versions: list[dict[str, Any]]


@contextlib.contextmanager
def whole_copies() -> Iterator[None]:
    """Store every version whole and rewrite every evidence row, as before this item."""
    every, replace = versions.FULL_EVERY, repositories.replace_evidence

    def rewrite_all(db: Any, review_id: int, items: Any) -> None:
        db.execute("DELETE FROM evidence WHERE review_id = ?", [review_id])
        replace(db, review_id, items)

    versions.FULL_EVERY, repositories.replace_evidence = 1, rewrite_all
    try:
        yield
    finally:
        versions.FULL_EVERY, repositories.replace_evidence = every, replace


def bench_worker(folder: Path) -> tuple[Context, Principal]:
    """A store in `folder` with one caseworker."""
    ctx = Context(folder / "versions.db", clock=_Clock())
    added = staff.add_staff(
        ctx,
        SYSTEM,
        staff_id="SW-B1",
        issuer="bench",
        subject="sw-b1",
        display_name="Synthetic caseworker",
        role=Role.CASEWORKER,
        team="North",
    )
    return ctx, added.principal()


def sit(ctx: Context, worker: Principal, final: dict[str, Any], *, reference: str) -> Sat:
    """Start a review of `final`'s case and save the sitting's documents one by one, timing
    each save; then sign it off."""
    final = copy.deepcopy(final)
    final["case"]["case_reference"] = reference
    case = Review.model_validate(final).case
    review_id = reviews.start_review(ctx, worker, case)
    version, saves = 1, []
    for document in [*sitting(final), final]:
        begun = time.perf_counter()
        try:
            version = reviews.save_review(
                ctx, worker, review_id, document, expected_version=version
            )
        except InvalidInput:
            continue  # a half-made answer the model refuses: it goes with the next widget
        saves.append(time.perf_counter() - begun)
    seen = reviews.get_review(ctx, worker, review_id).content_hash
    reviews.sign_off(ctx, worker, review_id, seen_hash=seen, attested=True)
    with reading(ctx.db_path) as db:
        rows = list(
            db.query(
                "SELECT * FROM review_versions WHERE review_id = ? ORDER BY version", [review_id]
            )
        )
    return Sat(ctx, review_id, saves, rows)


def versions_bytes(sat: Sat) -> int:
    return sum(len(str(row["content"]).encode()) for row in sat.versions)


def file_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size = (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA page_size").fetchone()[0],
        )
        return int(pages * size)
    finally:
        conn.close()


def floor_saves(folder: Path, sat: Sat, *, whole: bool) -> list[float]:
    """Raw sqlite3 writing the rows each save of `sat` wrote, one transaction per save."""
    path = folder / f"floor-{'whole' if whole else 'compact'}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(
        "CREATE TABLE r (id INTEGER PRIMARY KEY, content TEXT, content_hash TEXT, version INT);"
        "CREATE TABLE v (review_id INT, version INT, content TEXT, content_hash TEXT, "
        "PRIMARY KEY (review_id, version));"
        "CREATE TABLE e (review_id INT, evidence_id TEXT, agency TEXT, kind TEXT, "
        "observed_on TEXT, direction TEXT, shows TEXT, record_ref TEXT, "
        "PRIMARY KEY (review_id, evidence_id));"
        "CREATE TABLE a (seq INTEGER PRIMARY KEY, detail TEXT, hash TEXT);"
        "INSERT INTO r VALUES (1, '', '', 1);"
    )
    times: list[float] = []
    held: dict[str, dict[str, Any]] = {}
    for kept in versions.rebuilt(sat.versions):
        row, document = kept.row, kept.document
        assert document is not None
        whole_text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        items = {str(i["evidence_id"]): i for i in evidence_register(document)}
        columns = "review_id, evidence_id, agency, kind, observed_on, direction, shows, record_ref"
        values = ":review_id, :evidence_id, :agency, :kind, :observed_on, :direction, :shows, "
        values += ":record_ref"
        begun = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE r SET content = ?, content_hash = ?, version = ? WHERE id = 1",
            [whole_text, row["content_hash"], row["version"]],
        )
        conn.execute(
            "INSERT INTO v VALUES (1, ?, ?, ?)",
            [row["version"], whole_text if whole else row["content"], row["content_hash"]],
        )
        if whole:
            conn.execute("DELETE FROM e WHERE review_id = 1")
            new = list(items.values())
        else:
            gone = [k for k in held if k not in items]
            conn.executemany(
                "DELETE FROM e WHERE review_id = 1 AND evidence_id = ?", [[k] for k in gone]
            )
            new = [i for k, i in items.items() if held.get(k) != i]
            conn.executemany(
                "DELETE FROM e WHERE review_id = 1 AND evidence_id = ?",
                [[str(i["evidence_id"])] for i in new if str(i["evidence_id"]) in held],
            )
        conn.executemany(
            f"INSERT INTO e ({columns}) VALUES ({values})", [{**i, "review_id": 1} for i in new]
        )
        conn.execute(
            "INSERT INTO a (detail, hash) VALUES (?, ?)",
            [json.dumps({"version": row["version"], "content_hash": row["content_hash"]}), "0"],
        )
        conn.execute("COMMIT")
        times.append(time.perf_counter() - begun)
        held = items
    conn.close()
    return times[1:]  # the start is not a save


def _ms(values: list[float], q: float = 0.5) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(count: int, reviews_per_mode: int = 2) -> dict[str, dict[str, float]]:
    """Both modes for a review with `count` evidence items."""
    final = signable_review_with_evidence(count).model_dump(mode="json")
    out: dict[str, dict[str, float]] = {}
    for mode in ("before", "after"):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            sats = []
            ctx, worker = bench_worker(folder)
            path = folder / "versions.db"  # bench_worker's store
            with whole_copies() if mode == "before" else contextlib.nullcontext():
                empty = None
                for n in range(reviews_per_mode):
                    sats.append(sit(ctx, worker, final, reference=f"CR-B-{n + 1:04d}"))
                    if empty is None:
                        empty = file_bytes(path)
                grown = file_bytes(path) - (empty or 0)
            sat = sats[-1]
            floor = floor_saves(folder, sat, whole=mode == "before")
            out[mode] = {
                "saves": len(sat.saves),
                "versions_kb": versions_bytes(sat) / 1024,
                "file_kb_per_review": grown / max(1, reviews_per_mode - 1) / 1024,
                "save_ms": _ms(sat.saves),
                "save_p90_ms": _ms(sat.saves, 0.9),
                "floor_ms": _ms(floor),
                "ratio": statistics.median(sat.saves) / statistics.median(floor),
            }
            assert all(k.matches for k in versions.rebuilt(sat.versions))
            assert not is_delta_text(str(sat.versions[-1]["content"])), "signed: whole"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.versions_bench")
    parser.add_argument("--quick", action="store_true", help="the 30-item review only")
    args = parser.parse_args()
    print(
        "| evidence items | saves | versions before | versions after | smaller by | "
        "file growth per review before | after | save before (floor, ratio) | "
        "save after (floor, ratio) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for count in (30,) if args.quick else (30, 200):
        m = measure(count)
        b, a = m["before"], m["after"]
        print(
            f"| {count} | {a['saves']:.0f} | {b['versions_kb']:,.0f} KB | "
            f"{a['versions_kb']:,.0f} KB | {b['versions_kb'] / a['versions_kb']:.0f}x | "
            f"{b['file_kb_per_review']:,.0f} KB | {a['file_kb_per_review']:,.0f} KB | "
            f"{b['save_ms']:.1f} ms (p90 {b['save_p90_ms']:.1f}; floor {b['floor_ms']:.1f}, "
            f"{b['ratio']:.1f}x) | {a['save_ms']:.1f} ms (p90 {a['save_p90_ms']:.1f}; floor "
            f"{a['floor_ms']:.1f}, {a['ratio']:.1f}x) |"
        )


if __name__ == "__main__":
    main()
