"""PostgreSQL's full-text search, the two ways to the words (issue 12, item 6; decision #81).

A throwaway cluster holds a table shaped as the decisions' search needs them (id, team, case
reference, about 250 words of search text, a 2 KB sealed column so rows are as wide as
real ones are at least) with both: the index on the words' expression as before p010, with
its plan forced as it was (a bitmap of every match in a CTE, sequential scans off), and the
stored, generated words with their GIN index as now, the planner left to choose. Words are
common (in half the decisions), rare (1 in 20,000) or one of 3,000 filler words; filters a
team of twenty. Best of three runs of the first page (50 newest), each query against both.

    python -m bench.pg_search_plans [--decisions N]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from bench.postgres_cluster import Cluster
from closure_readiness.storage.schema_postgres import SEARCH_WORDS

COMMON = ("school", "police", "youth", "mother", "college", "health")
RARE = tuple(f"rare{n}" for n in range(200))
FILLER = tuple(f"w{n}" for n in range(3000))
QUERIES = [
    ("one common word", "school", None),
    ("two common words", "school & police", None),
    ("a common word, a team", "school", "team3"),
    ("three common words, a team", "school & police & youth", "team3"),
    ("a rare word", "rare7", None),
    ("a rare word, a team", "rare7", "team3"),
    ("a filler and a common word, a team", "w17 & school", "team3"),
]


def _fill(conn: Any, decisions: int) -> None:
    pick = random.Random(1)
    conn.execute(
        'CREATE TABLE decisions (id bigint PRIMARY KEY, team text COLLATE "C" NOT NULL, '
        "case_reference text NOT NULL, search_text text NOT NULL, sealed text NOT NULL)"
    )
    conn.execute("CREATE INDEX decisions_team_id ON decisions (team, id)")
    with conn.cursor() as cursor, cursor.copy("COPY decisions FROM STDIN") as copy:
        for n in range(1, decisions + 1):
            words = [
                *pick.sample(FILLER, 250),
                *(word for word in COMMON if pick.random() < 0.5),
                *([pick.choice(RARE)] if pick.random() < 0.01 else []),
            ]
            copy.write_row((n, f"team{n % 20}", f"CR-{n:06d}", " ".join(words), "x" * 2000))
    conn.execute(f"CREATE INDEX decisions_expression ON decisions USING gin ({SEARCH_WORDS})")
    conn.execute(
        f"ALTER TABLE decisions ADD COLUMN search_words tsvector "
        f"GENERATED ALWAYS AS ({SEARCH_WORDS}) STORED"
    )
    conn.execute("CREATE INDEX decisions_stored ON decisions USING gin (search_words)")
    conn.execute("ANALYZE")


def _best_ms(conn: Any, sql: str, params: list[Any], *, seqscan_off: bool) -> float:
    best = float("inf")
    for _ in range(3):
        with conn.transaction():
            if seqscan_off:
                conn.execute("SET LOCAL enable_seqscan = off")
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - started)
    return best * 1000


def run(decisions: int, say: Callable[[str], None] = print) -> None:
    import psycopg

    with Cluster.started() as cluster, psycopg.connect(cluster.url(), autocommit=True) as conn:
        say(f"{decisions:,} decisions, filling and indexing")
        _fill(conn, decisions)
        say("| query | index on the expression, bitmap forced (ms) | stored words (ms) |")
        say("|---|---:|---:|")
        for name, words, team in QUERIES:
            where = " AND d.team = %s" if team else ""
            params: list[Any] = [words, *([team] if team else [])]
            before = (
                "WITH matching AS MATERIALIZED (SELECT id FROM decisions "
                f"WHERE {SEARCH_WORDS} @@ to_tsquery('simple', %s)) SELECT d.id FROM matching m "
                f"JOIN decisions d ON d.id = m.id WHERE true{where} ORDER BY d.id DESC LIMIT 50"
            )
            now = (
                "SELECT d.id FROM decisions d WHERE d.search_words @@ to_tsquery('simple', %s)"
                f"{where} ORDER BY d.id DESC LIMIT 50"
            )
            say(
                f"| {name} | {_best_ms(conn, before, params, seqscan_off=True):.1f} "
                f"| {_best_ms(conn, now, params, seqscan_off=False):.1f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pg_search_plans")
    parser.add_argument("--decisions", type=int, default=60_000)
    run(parser.parse_args().decisions)
