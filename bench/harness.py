"""A small benchmark harness: median timings and ratios against a floor from the same run.

Ratios, not absolute times, are what we compare across machines; absolute medians are printed
for the record. No test asserts on these numbers.
"""

from __future__ import annotations

import gc
import random
import socket
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    subject_ms: float
    floor_name: str
    floor_ms: float
    target: float | None
    """The ratio we aim at (subject / floor), or None when only the time is reported."""
    limit_ms: float | None = None
    """An absolute ceiling for the subject's median, where the issue sets one."""
    subject_p90_ms: float | None = None
    """The 90th percentile, where a suite keeps every sample (the browser suite)."""
    floor_p90_ms: float | None = None

    @property
    def ratio(self) -> float:
        return self.subject_ms / self.floor_ms if self.floor_ms else float("nan")

    @property
    def verdict(self) -> str:
        if self.target is None and self.limit_ms is None:
            return "-"
        within_ratio = self.target is None or self.ratio <= self.target
        within_limit = self.limit_ms is None or self.subject_ms <= self.limit_ms
        return "ok" if within_ratio and within_limit else "OVER"


def median_ms(action: Callable[[], object], *, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        action()
    gc.collect()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        action()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def compare(
    name: str,
    subject: Callable[[], object],
    floor_name: str,
    floor: Callable[[], object],
    *,
    repeat: int,
    target: float | None,
    limit_ms: float | None = None,
) -> Measurement:
    """Interleave the two so drift on a busy machine hits both alike."""
    subject_runs: list[float] = []
    floor_runs: list[float] = []
    rounds = 5
    for _ in range(rounds):
        floor_runs.append(median_ms(floor, repeat=max(1, repeat // rounds)))
        subject_runs.append(median_ms(subject, repeat=max(1, repeat // rounds)))
    return Measurement(
        name=name,
        subject_ms=statistics.median(subject_runs),
        floor_name=floor_name,
        floor_ms=statistics.median(floor_runs),
        target=target,
        limit_ms=limit_ms,
    )


def table(rows: list[Measurement]) -> str:
    """A Markdown table; the p90 columns appear only when some row has them."""
    p90 = any(row.subject_p90_ms is not None for row in rows)
    if p90:
        header = (
            "| benchmark | median ms | p90 ms | floor | floor ms | floor p90 | ratio | target "
            "| verdict |"
        )
        lines = [header, "|---|---:|---:|---|---:|---:|---:|---:|---|"]
    else:
        header = "| benchmark | median ms | floor | floor ms | ratio | target | verdict |"
        lines = [header, "|---|---:|---|---:|---:|---:|---|"]
    for row in rows:
        targets = []
        if row.target is not None:
            targets.append(f"<= {row.target:g}x")
        if row.limit_ms is not None:
            targets.append(f"<= {row.limit_ms:g} ms")
        target = ", ".join(targets) or "-"
        if p90:
            lines.append(
                f"| {row.name} | {row.subject_ms:.3f} | {_ms(row.subject_p90_ms)} | "
                f"{row.floor_name} | {row.floor_ms:.3f} | {_ms(row.floor_p90_ms)} | "
                f"{row.ratio:.2f}x | {target} | {row.verdict} |"
            )
        else:
            lines.append(
                f"| {row.name} | {row.subject_ms:.3f} | {row.floor_name} | {row.floor_ms:.3f} | "
                f"{row.ratio:.2f}x | {target} | {row.verdict} |"
            )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


LISTEN_PORTS = range(20_000, 32_000)
"""Below Linux's ephemeral range (32768-60999): a port the system hands out for 0 can be taken
by any outgoing connection before the server a suite starts binds it (a fresh-clone run met
"Port 35609 is not available"); a port from here is never handed out that way."""


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now, for a server a suite or test starts a little
    later. The one helper for it: the tests import it too."""
    for _ in range(200):
        port = random.choice(LISTEN_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def healthy(url: str) -> bool:
    """Whether the Streamlit server at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
