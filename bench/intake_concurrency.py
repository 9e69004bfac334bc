"""Does intake grow with concurrency? `make bench` (needs PostgreSQL).

Creates a throw-away database (default `postgres://postgres@127.0.0.1:5432/gridlink_intake_bench`;
`--database-url` for another; dropped and created anew on every run), migrates it and loads
the working calendar, the shipped taxonomy and the small demo tree (no residents). Then posts
`--cases` reports (default 400 per round) through the real intake service
(`gridlink.cases.services.intake.case_create`: locate, duplicate check, routing, deadlines,
the case event with its rollups, outbox, audit) from 1 thread and from 8 threads, each report
from its own address at a random grid of the district, and prints cases/s of each, p50/p95
of one intake and the ratio 8 : 1. While the 8 threads run, `pg_stat_activity` is sampled:
the share of active backends waiting on a lock, and the statements they wait in (by table).
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/gridlink_intake_bench"
CATEGORY = "E0102"  # exposed garbage: handled in working hours, no required attributes
SEED = 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=400, help="reports per round")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    # With DATABASE_URL set gridlink needs explicit keys; these protect only the throw-away
    # benchmark database.
    os.environ.setdefault("GRIDLINK_SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
    os.environ.setdefault("GRIDLINK_AUDIT_KEY", "bench-only-audit-key-" + "c" * 40)
    os.environ["GRIDLINK_DB_POOL_MIN"] = "1"
    os.environ["GRIDLINK_DB_POOL_MAX"] = str(max(args.threads) + 2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridlink.settings")
    database_create(args.database_url)
    django.setup()
    points = prepare()
    print(f"{len(points)} grids; {args.cases} reports per round, category {CATEGORY}")
    rates: dict[int, float] = {}
    for threads in args.threads:
        rate, latencies, waits = run_round(points, args.cases, threads)
        rates[threads] = rate
        p50 = statistics.median(latencies) * 1000
        p95 = statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 1 else p50
        print(f"{threads:>2} thread(s): {rate:7.1f} cases/s   one intake p50 {p50:6.1f} ms, "
              f"p95 {p95:6.1f} ms")  # fmt: skip
        if waits is not None:
            samples, active, waiting, by_statement = waits
            share = waiting / active if active else 0.0
            print(f"    {samples} samples of pg_stat_activity: {active} active backends seen, "
                  f"{waiting} of them ({share:.0%}) waiting on a lock")  # fmt: skip
            for what, n in by_statement.most_common(6):
                print(f"      {n:5d} waiting in {what}")
    if 1 in rates:
        for threads, rate in rates.items():
            if threads != 1:
                print(f"ratio {threads} threads : 1 thread = {rate / rates[1]:.2f}")


def database_create(url: str) -> None:
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url.replace("postgres://", "postgresql://", 1))
    name = str(info.pop("dbname"))
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare() -> list[tuple[float, float]]:
    """Migrate, load the calendar, taxonomy and small demo tree; a point inside each grid."""
    from django.core.management import call_command

    from gridlink.cases.services import SHIPPED_TAXONOMY, taxonomy_load
    from gridlink.demo.plan import build_plan
    from gridlink.demo.seed import demo_seed
    from gridlink.geo.models import Level

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    year = time.gmtime().tm_year
    call_command("calendar", "seed", "--years", f"{year}-{year + 1}", verbosity=0)
    taxonomy_load(actor=None, path=SHIPPED_TAXONOMY, publish=True)
    plan = build_plan(scale="small", seed=SEED, people=False)
    demo_seed(plan=plan)
    points = []
    for grid in plan.by_level(Level.GRID):
        p = grid.shape.representative_point()
        points.append((p.y, p.x))
    print(f"database, calendar, taxonomy and demo tree: {time.perf_counter() - started:.1f} s")
    return points


def run_round(
    points: list[tuple[float, float]], n: int, threads: int
) -> tuple[float, list[float], Any]:
    from django.db import connection

    from gridlink.cases.services.intake import Report, case_create

    rng = random.Random(f"{SEED}:{threads}")
    todo = [rng.choice(points) for _ in range(n)]
    barrier = threading.Barrier(threads + 1)

    def worker(index: int, share: list[tuple[float, float]]) -> list[float]:
        mine = []
        try:
            barrier.wait()
            for i, (lat, lon) in enumerate(share):
                report = Report(channel="resident_web", category_code=CATEGORY,
                                description=f"垃圾满溢 {threads}-{i}-{lat:.5f}", anonymous=True,
                                lat=lat, lon=lon)  # fmt: skip
                ip = f"10.{threads}.{index + i // 250}.{i % 250 + 1}"  # one resident each
                t0 = time.perf_counter()
                case_create(actor=None, report=report, ip=ip)
                mine.append(time.perf_counter() - t0)
        finally:
            connection.close()
        return mine

    shares = [todo[i::threads] for i in range(threads)]
    stop = threading.Event()
    sampled: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=threads + 1) as pool:
        futures = [pool.submit(worker, 16 * k, s) for k, s in enumerate(shares)]
        sampler = pool.submit(sample_waits, stop, sampled) if threads > 1 else None
        try:
            barrier.wait()
            started = time.perf_counter()
            latencies = [x for f in futures for x in f.result()]  # an intake's error is raised
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
        if sampler is not None:
            sampler.result()
    waits = (
        (sampled["samples"], sampled["active"], sampled["waiting"], sampled["by"])
        if sampled
        else None
    )
    return n / elapsed, latencies, waits


def sample_waits(stop: threading.Event, out: dict[str, Any]) -> None:
    """Every 20 ms: the other active backends of this database, and those waiting on a lock
    (by the table their statement writes)."""
    from django.db import connection

    samples = active = waiting = 0
    by: Counter[str] = Counter()
    with connection.cursor() as cursor:
        while not stop.is_set():
            cursor.execute(
                "SELECT wait_event_type, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND state = 'active' "
                "AND pid <> pg_backend_pid()"
            )
            rows = cursor.fetchall()
            samples += 1
            active += len(rows)
            for wait_type, query in rows:
                if wait_type == "Lock":
                    waiting += 1
                    by[_statement(query)] += 1
            time.sleep(0.02)
    connection.close()
    out.update(samples=samples, active=active, waiting=waiting, by=by)


def _statement(query: str) -> str:
    words = query.replace("\n", " ").split()
    verb = words[0].upper() if words else "?"
    table = next((w.strip('"') for w in words if w.startswith('"') and "_" in w), "?")
    return f"{verb} {table.split('.')[0].strip(chr(34))}"


if __name__ == "__main__":
    main()
