"""`kill -9` in the middle of a crawl, an annotate run and a publish: nothing stored is lost or half-written, the
next run completes, and what the killed run left behind is cleaned up or labelled.

Each case runs the job in a child process (`python -c`, the same library calls as the CLI), waits until it is
visibly mid-way (a running crawl row, profiles being written, a staged file growing), sends SIGKILL, then checks
the store and runs the job again in this process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.access import Actor
from catalog.annotate import annotate
from catalog.db import session_scope
from catalog.models import Classification, CrawlRun, Dataset, DatasetVersion, Profile
from catalog.publish import publish
from catalog.publish_input import sweep_staging
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from tests.helpers import crawl, register

TABLES = 300
BIG_ROWS = 600_000


def _many_tables(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        for t in range(TABLES):
            conn.execute(f"CREATE TABLE t{t:03d} (id INTEGER PRIMARY KEY, email TEXT, amount REAL, note TEXT)")
            conn.executemany(f"INSERT INTO t{t:03d} VALUES (?,?,?,?)",
                             [(i, f"u{i}@example.org", i * 1.5, f"note {i}") for i in range(60)])
    return path


def _big_table(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, amount REAL, note TEXT)")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?)",
                         ((i, f"k{i % 7}", i * 0.25, f"event number {i} of the big table") for i in range(BIG_ROWS)))
    return path


def _child(settings: Settings, code: str) -> subprocess.Popen[bytes]:
    """A child process running `code` against this catalog (settings from its home and store URL)."""
    prelude = ("from catalog.settings import load_settings\nfrom catalog.access import Actor\n"
               f"settings = load_settings(home={str(settings.home)!r}, database_url={settings.database_url!r})\n"
               "actor = Actor.local()\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", prelude + code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _kill_when(child: subprocess.Popen[bytes], ready: Callable[[], bool], timeout_s: float = 120) -> None:
    """SIGKILL the child as soon as `ready()` holds; fail if it finished first (the case proves nothing then)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"the job ended before it could be killed: {child.stderr.read().decode()[-2000:]}")
        if ready():
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            assert child.returncode == -signal.SIGKILL
            return
        time.sleep(0.02)
    child.kill()
    pytest.fail("the job never reached the point where it should be killed")


def _count(settings: Settings, statement: object) -> int:
    with session_scope(settings) as session:
        return int(session.scalar(statement) or 0)


def test_a_killed_crawl_is_marked_interrupted_and_the_next_one_completes(settings: Settings,
                                                                         tmp_path: Path) -> None:
    register(settings, "many", f"sqlite:///{_many_tables(tmp_path / 'many.db')}")
    child = _child(settings, "from catalog.crawl import crawl_source\ncrawl_source(settings, actor, 'many')\n")
    _kill_when(child, lambda: _count(settings, select(func.count()).select_from(CrawlRun)
                                     .where(CrawlRun.status == "running")) == 1)

    summary = crawl(settings, "many")
    assert summary["status"] != "failed"
    with session_scope(settings) as session:
        statuses = [r.status for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
        tables = session.scalar(select(func.count()).select_from(Dataset).where(Dataset.deleted_at.is_(None)))
    assert statuses[0] == "interrupted" and statuses[-1] not in ("running", "interrupted", "failed")
    assert tables == TABLES


def test_a_killed_annotate_run_loses_nothing_and_the_next_run_finishes_the_rest(settings: Settings,
                                                                                 tmp_path: Path) -> None:
    register(settings, "many", f"sqlite:///{_many_tables(tmp_path / 'many.db')}")
    crawl(settings, "many")
    child = _child(settings, "from catalog.annotate import annotate\nannotate(settings, actor, backend='none')\n")
    _kill_when(child, lambda: _count(settings, select(func.count()).select_from(Profile)) >= 5)
    profiled_before = _count(settings, select(func.count()).select_from(Profile))
    assert profiled_before < TABLES, "the run finished before the kill; make it longer"

    rest = annotate(settings, Actor.local(), backend="none")
    assert rest["failed"] == 0 and rest["profiled"] <= TABLES - profiled_before + 1  # the rest, not all again
    assert _count(settings, select(func.count()).select_from(Profile)) == TABLES
    emails = select(func.count()).select_from(Classification).where(Classification.label == "pii.email",
                                                                    Classification.column_name == "email")
    assert _count(settings, emails) == TABLES  # no table was left profiled but unlabelled by the kill
    assert annotate(settings, Actor.local(), backend="none")["datasets"] == 0  # nothing left to do


def test_a_killed_publish_leaves_no_version_and_its_staged_file_is_swept(settings: Settings,
                                                                         tmp_path: Path) -> None:
    register(settings, "big", f"sqlite:///{_big_table(tmp_path / 'big.db')}")
    crawl(settings, "big")
    staging = VersionRepo(settings).staging_dir()
    child = _child(settings, "from catalog.publish import publish\n"
                             "publish(settings, actor, 'lake/events', dataset='big/main/events')\n")

    def staging_started() -> bool:
        return any(p.suffix == ".parquet" and p.stat().st_size > 0 for p in staging.iterdir())

    _kill_when(child, staging_started)
    left = [p for p in staging.iterdir() if p.suffix == ".parquet"]
    assert left and all(p.name.startswith(f"{child.pid}-") for p in left)
    assert _count(settings, select(func.count()).select_from(DatasetVersion)) == 0
    repo = VersionRepo(settings)
    assert subprocess.run(["git", "-C", str(repo.root), "tag"], capture_output=True, text=True).stdout == ""

    assert sweep_staging(staging) == []  # a dead process's file is kept while it is fresh (age guard)
    for path in left:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    done = publish(settings, Actor.local(), "lake/events", dataset="big/main/events")
    assert done["status"] == "published" and done["version"]["rows"] == BIG_ROWS
    assert not any(p.exists() for p in left)  # the publish swept the killed one's leftovers
