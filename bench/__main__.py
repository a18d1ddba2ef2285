"""Run the benchmarks: `python -m bench [--quick] [NAME ...]` prints medians and ratios."""

from __future__ import annotations

import argparse
import importlib
import inspect
import platform
import sys

from bench.harness import Measurement, table

SUITES = {
    "checks": "bench.checks_bench",
    "app": "bench.app_bench",
    "pdf": "bench.pdf_bench",
    "store": "bench.store_bench",
    "audit": "bench.audit_bench",
    "server": "bench.server_bench",
    "browser": "bench.browser_bench",
    "cold_start": "bench.cold_start_bench",
    "load": "bench.load_bench",
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names", nargs="*", help=f"suites to run: {', '.join(SUITES)} (default all)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for a smoke run")
    parser.add_argument("--sessions", type=int, default=3, help="load: signed-in sessions")
    parser.add_argument("--seconds", type=float, default=60.0, help="load: seconds of load")
    parser.add_argument(
        "--processes", type=int, default=1, help="load: app server processes (and floors)"
    )
    parser.add_argument(
        "--engine",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="load: where the app keeps its data (postgresql: a throwaway cluster, fsync on)",
    )
    args = parser.parse_args()
    repeat = 20 if args.quick else 200
    unknown = [name for name in args.names if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    rows: list[Measurement] = []
    for name in args.names or list(SUITES):
        module = importlib.import_module(SUITES[name])
        parameters = inspect.signature(module.run).parameters
        if "sessions" in parameters:
            rows.extend(
                module.run(
                    repeat,
                    quick=args.quick,
                    sessions=args.sessions,
                    seconds=args.seconds,
                    processes=args.processes,
                    engine=args.engine,
                )
            )
        elif "quick" in parameters:
            rows.extend(module.run(repeat, quick=args.quick))  # a smaller data set, too
        else:
            rows.extend(module.run(repeat))
    print(f"Python {platform.python_version()} on {platform.machine()}, repeat={repeat}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
