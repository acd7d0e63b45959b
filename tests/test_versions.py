"""Publishing versions: DVC repository layout, gates, immutability, conflicts, and nothing half-written."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from catalog.access import Actor
from catalog.db import session_scope
from catalog.errors import Conflict, InvalidInput, NotFound, PublishRejected
from catalog.models import DatasetVersion, PublishedDataset
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from catalog.versions import describe_version, diff_versions, find_version, list_versions
from tests.helpers import crawl, register, show


def sales(rows: int = 2000, seed: int = 1, shift: float = 0.0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "order_id": np.arange(rows, dtype=np.int64),
        "amount": rng.normal(100 + shift, 15, rows),
        "country": pa.array(rng.choice(["NL", "DE", "FR", "US"], rows)),
        "quantity": rng.integers(1, 20, rows),
    })


def git(repo: VersionRepo, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo.root), *args], capture_output=True, text=True, check=True).stdout


def version_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(DatasetVersion)) or 0


def staging_files(settings: Settings) -> list[Path]:
    return [p for p in VersionRepo(settings).staging_dir().iterdir()]


def test_publish_writes_a_tagged_dvc_version_that_plain_dvc_reads(settings: Settings, actor: Actor) -> None:
    import dvc.api

    table = sales()
    result = publish(settings, actor, "team/sales", data=table, options=PublishOptions(message="first cut"))
    version = result["version"]
    assert result["status"] == "published" and version["version"] == "v1" and version["rows"] == 2000
    repo = VersionRepo(settings)
    assert version["tag"] == "team/sales@v1" and "team/sales@v1" in git(repo, "tag").split()
    assert (repo.root / "data/team/sales.parquet.dvc").read_text().startswith(f"outs:\n- md5: {version['md5']}")
    assert not (repo.root / "data/team/sales.parquet").exists()  # no workspace copy
    # Outside the catalog: DVC reads the tagged version (from the cache, then from the remote alone).
    data = dvc.api.read("data/team/sales.parquet", repo=str(repo.root), rev="team/sales@v1", mode="rb")
    assert pq.read_table(pa.BufferReader(data)).equals(table)
    assert repo.remote_has(version["md5"])
    # The catalog lists it as a dataset with columns, an owner, and the version in `show`.
    shown = show(settings, "team/sales")
    assert [c["name"] for c in shown["columns"]] == ["order_id", "amount", "country", "quantity"]
    assert shown["versions"][0]["version"] == "v1" and shown["owners"] == [actor.name]
    assert staging_files(settings) == []


def test_same_rows_are_the_same_version_whatever_they_came_from(settings: Settings, actor: Actor,
                                                                 tmp_path: Path) -> None:
    table = sales()
    first = publish(settings, actor, "team/sales", data=table)["version"]
    again = publish(settings, actor, "team/sales", data=table.to_pandas())
    assert again["status"] == "unchanged" and again["version"]["content_hash"] == first["content_hash"]
    rebatched = pa.Table.from_batches(table.to_batches(max_chunksize=333))
    assert publish(settings, actor, "team/sales", data=rebatched)["status"] == "unchanged"
    csv_path = tmp_path / "sales.csv"
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, csv_path)
    assert publish(settings, actor, "team/sales", path=csv_path)["status"] in ("unchanged", "published")
    assert version_count(settings) <= 2


def test_versions_resolve_by_number_hash_prefix_and_latest(settings: Settings, actor: Actor) -> None:
    v1 = publish(settings, actor, "team/sales", data=sales(seed=1))["version"]
    v2 = publish(settings, actor, "team/sales", data=sales(seed=2), options=PublishOptions(
        parents=("team/sales@v1",), message="reseeded"))["version"]
    assert v2["parents"] == ["team/sales@v1"]
    with session_scope(settings) as session:
        assert find_version(session, actor, "team/sales", "latest").number == 2
        assert find_version(session, actor, "team/sales", "v1").number == 1
        assert find_version(session, actor, "team/sales", v1["content_hash"][:8]).number == 1
        assert find_version(session, actor, "team/sales", v2["md5"][:8]).number == 2
        with pytest.raises(InvalidInput, match="hash prefix"):
            find_version(session, actor, "team/sales", "abc")
        with pytest.raises(NotFound, match="no version 'v9'"):
            find_version(session, actor, "team/sales", "v9")
        listed = list_versions(session, actor, "team/sales")["versions"]
        assert [v["version"] for v in listed] == ["v2", "v1"]
        detail = describe_version(session, actor, "team/sales", "v2")
        assert detail["validation"]["gate"] == "quality" and detail["checks"]["quality"]["ran"]


def test_bad_names_are_refused_before_anything_is_written(settings: Settings, actor: Actor, tmp_path: Path) -> None:
    for name in ("../etc/passwd", "/abs/path", "single", "team/../x", "team/a..b", "team/x.lock", "team/x@v1",
                 "team/ <script>"):
        with pytest.raises(InvalidInput, match="dataset name"):
            publish(settings, actor, name, data=sales())
    db = tmp_path / "shop.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
    register(settings, "shop", f"sqlite:///{db}")
    with pytest.raises(InvalidInput, match="crawled sql source"):
        publish(settings, actor, "shop/cleaned", data=sales())
    assert version_count(settings) == 0


def test_empty_table_and_unreadable_files_are_rejected(settings: Settings, actor: Actor, tmp_path: Path) -> None:
    with pytest.raises(PublishRejected, match="empty") as rejected:
        publish(settings, actor, "team/sales", data=sales().slice(0, 0))
    assert rejected.value.report["gates"][0] == {"gate": "rows", "passed": False, "rows": 0,
                                                  "message": rejected.value.report["gates"][0]["message"]}
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InvalidInput, match="cannot read 'broken.parquet'"):
        publish(settings, actor, "team/sales", path=broken)
    with pytest.raises(InvalidInput, match="does not exist"):
        publish(settings, actor, "team/sales", path=tmp_path / "missing.csv")
    assert version_count(settings) == 0 and staging_files(settings) == []
    assert git(VersionRepo(settings), "tag") == ""


def test_removing_a_declared_column_needs_a_justification(settings: Settings, actor: Actor) -> None:
    publish(settings, actor, "team/sales", data=sales())
    wider = sales(seed=3).append_column("channel", pa.array(["web"] * 2000))
    assert publish(settings, actor, "team/sales", data=wider)["version"]["version"] == "v2"
    narrower = sales(seed=4).drop_columns(["quantity"]).append_column("channel", pa.array(["web"] * 2000))
    with pytest.raises(PublishRejected, match="removes 'quantity'"):
        publish(settings, actor, "team/sales", data=narrower)
    done = publish(settings, actor, "team/sales", data=narrower,
                   options=PublishOptions(allow_schema_change="quantity moved to the order_items dataset"))
    assert done["version"]["version"] == "v3"
    with session_scope(settings) as session:
        detail = describe_version(session, actor, "team/sales", "v3")
    assert detail["schema_change"]["removed"][0]["name"] == "quantity"
    assert detail["schema_change"]["justification"].startswith("quantity moved")


def people(rows: int = 300) -> pa.Table:
    return pa.table({"customer_id": list(range(rows)),
                     "email": [f"user{i}@example.com" for i in range(rows)],
                     "spend": [float(i) for i in range(rows)]})


def test_personal_data_blocks_unless_allowed_with_a_recorded_reason(settings: Settings, actor: Actor) -> None:
    with pytest.raises(PublishRejected, match="personal data in 'email'") as rejected:
        publish(settings, actor, "crm/customers", data=people())
    pii = next(g for g in rejected.value.report["gates"] if g["gate"] == "pii")
    assert pii["findings"][0]["column"] == "email" and pii["findings"][0]["label"] == "pii.email"
    assert "user1@example.com" not in repr(rejected.value.report)
    assert version_count(settings) == 0
    with pytest.raises(InvalidInput, match="justification"):
        publish(settings, actor, "crm/customers", data=people(), options=PublishOptions(allow_pii={"email": "ok"}))
    with pytest.raises(InvalidInput, match="does not have"):
        publish(settings, actor, "crm/customers", data=people(),
                options=PublishOptions(allow_pii={"e_mail": "contact list for the support team"}))
    done = publish(settings, actor, "crm/customers", data=people(),
                   options=PublishOptions(allow_pii={"email": "support needs it to answer tickets"}))
    assert done["version"]["pii_allowed"] == [{"column": "email", "justification": "support needs it to answer "
                                               "tickets", "by": actor.name}]


def test_default_suite_blocks_a_version_that_breaks_it_and_leaves_nothing(settings: Settings, actor: Actor) -> None:
    publish(settings, actor, "team/sales", data=sales())
    with session_scope(settings) as session:
        suite = session.scalar(select(PublishedDataset.suite).where(PublishedDataset.name == "team/sales"))
        origin = session.scalar(select(PublishedDataset.suite_origin))
    assert suite and suite["expectations"] and origin == "default from v1"
    repo = VersionRepo(settings)
    pointer = (repo.root / "data/team/sales.parquet.dvc").read_text()
    head = git(repo, "rev-parse", "HEAD")
    broken = sales(seed=5)
    amounts = broken.column("amount").to_numpy().copy()
    amounts[::2] = np.nan
    broken = broken.set_column(1, "amount", pa.array(amounts, from_pandas=True))
    with pytest.raises(PublishRejected, match="quality") as rejected:
        publish(settings, actor, "team/sales", data=broken)
    quality = next(g for g in rejected.value.report["gates"] if g["gate"] == "quality")
    assert not quality["passed"] and quality["report"]["statistics"]["unsuccessful"] >= 1
    assert version_count(settings) == 1 and git(repo, "tag").split() == ["team/sales@v1"]
    assert (repo.root / "data/team/sales.parquet.dvc").read_text() == pointer
    assert git(repo, "rev-parse", "HEAD") == head and staging_files(settings) == []


def test_two_publishes_at_once_never_make_two_v2s(settings: Settings, actor: Actor) -> None:
    publish(settings, actor, "team/sales", data=sales())
    outcomes: list[Any] = []

    def attempt(seed: int) -> None:
        try:
            outcomes.append(publish(settings, actor, "team/sales", data=sales(seed=seed),
                                    options=PublishOptions(base=1))["version"]["version"])
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(seed,)) for seed in (10, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes))[1] == "v2" or "v2" in outcomes
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    conflict = next(o for o in outcomes if isinstance(o, Conflict))
    assert "v2 is the latest now" in str(conflict)
    assert version_count(settings) == 2
    assert sorted(git(VersionRepo(settings), "tag").split()) == ["team/sales@v1", "team/sales@v2"]


def test_an_orphan_tag_from_a_crash_is_cleared_by_the_next_publish(settings: Settings, actor: Actor) -> None:
    publish(settings, actor, "team/sales", data=sales())
    repo = VersionRepo(settings)
    git(repo, "tag", "team/sales@v2", "HEAD")  # a publish died between its tag and its row
    done = publish(settings, actor, "team/sales", data=sales(seed=9))
    assert done["version"]["version"] == "v2"
    assert git(repo, "rev-list", "-n1", "team/sales@v2").strip() == done["version"]["git_commit"]


def test_a_remote_that_is_down_fails_clearly_and_writes_nothing(tmp_path: Path, actor: Actor,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.db import migrate
    from catalog.settings import load_settings

    monkeypatch.setenv("CATALOG_DVC_REMOTE", "s3://versions/catalog")
    monkeypatch.setenv("CATALOG_DVC_REMOTE_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    down = load_settings(home=tmp_path / "down")
    migrate(down)
    with pytest.raises(Exception, match="DVC remote") as failed:
        publish(down, actor, "team/sales", data=sales(200))
    assert "testing" not in str(failed.value)
    assert version_count(down) == 0 and git(VersionRepo(down), "tag") == ""
    assert not (VersionRepo(down).root / "data/team/sales.parquet.dvc").exists()


def test_publish_from_a_crawled_sql_table(settings: Settings, actor: Actor, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, placed DATE, total REAL, note TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?,?,?,?)",
                         [(i, f"2024-01-{1 + i % 28:02d}", i * 2.5, None if i % 3 else f"n{i}") for i in range(500)])
    register(settings, "shop", f"sqlite:///{db}")
    crawl(settings, "shop")
    done = publish(settings, actor, "shop_clean/orders", dataset="shop/main/orders")
    assert done["version"]["rows"] == 500 and done["version"]["origin"] == "dataset shop/main/orders"
    assert [c["type"] for c in done["version"]["schema"]] == ["int64", "date32[day]", "double", "string"]


def test_diff_reports_schema_rows_and_drift(settings: Settings, actor: Actor) -> None:
    from catalog.versions import set_suite

    publish(settings, actor, "team/sales", data=sales())
    with session_scope(settings) as session:  # a person's suite that tolerates the shift
        set_suite(session, actor, "team/sales", {"expectations": [
            {"type": "expect_column_to_exist", "kwargs": {"column": "amount"}}]})
    shifted = sales(rows=2500, seed=2, shift=40.0).append_column("channel", pa.array(["web"] * 2500))
    assert publish(settings, actor, "team/sales", data=shifted)["version"]["version"] == "v2"
    with session_scope(settings) as session:
        diff = diff_versions(settings, session, actor, "team/sales", "v1", "v2")
    assert diff["rows"]["old"] == 2000 and diff["rows"]["new"] == 2500
    assert [c["name"] for c in diff["schema"]["added"]] == ["channel"]
    amount = next(d for d in diff["drift"] if d["column"] == "amount")
    assert amount["level"] == "major"
    assert next(d for d in diff["drift"] if d["column"] == "country")["level"] == "none"
