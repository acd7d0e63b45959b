"""The Python client on versions: pinned, hash-verified gets through a cache, over HTTP and on a local home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.access import Actor
from catalog.app import create_app
from catalog.client import Client, ClientError
from catalog.publish import publish
from catalog.settings import Settings
from catalog.version_repo import VersionRepo
from tests.helpers import live_server


def table(rows: int = 3000, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"id": np.arange(rows), "score": rng.random(rows),
                     "segment": pa.array(rng.choice(["a", "b", "c"], rows))})


class CountingApp:
    """ASGI middleware counting requests by path, to prove a cached get makes no network call."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)  # type: ignore[operator]


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[str, CountingApp]]:
    counting = CountingApp(create_app(settings))
    with live_server(counting) as url:
        yield url, counting


def test_get_is_exact_verified_and_cached(settings: Settings, actor: Actor, server: tuple[str, CountingApp],
                                          tmp_path: Path) -> None:
    url, counting = server
    first = table()
    publish(settings, actor, "team/scores", data=first)
    publish(settings, actor, "team/scores", data=table(seed=2))
    with Client(url, token="t", cache_dir=tmp_path / "cache") as client:
        assert [v["version"] for v in client.versions("team/scores")] == ["v2", "v1"]
        assert client.get("team/scores", "v1").equals(first)
        assert client.get("team/scores").equals(table(seed=2))
        before = list(counting.paths)
        again = client.get("team/scores", "v1")  # pinned and cached: not one request
        assert again.equals(first) and counting.paths == before
        assert client.get("team/scores", "v1", columns=["id"]).column_names == ["id"]
        written = client.download("team/scores", "v1", tmp_path / "out")
        assert written.name == "scores-v1.parquet" and pq.read_table(written).equals(first)
        with pytest.raises(ClientError) as missing:
            client.get("team/scores", "v7")
        assert missing.value.status == 404 and "no version 'v7'" in str(missing.value)


def test_a_corrupted_cache_entry_is_detected_and_fetched_again(settings: Settings, actor: Actor,
                                                                server: tuple[str, CountingApp],
                                                                tmp_path: Path) -> None:
    url, counting = server
    publish(settings, actor, "team/scores", data=table(20_000))
    with Client(url, cache_dir=tmp_path / "cache") as client:
        meta = client.version("team/scores", "v1")
        client.get("team/scores", "v1")
        cached = next((tmp_path / "cache" / "objects").rglob("*.parquet"))
        stat = cached.stat()
        cached.chmod(0o644)
        data = bytearray(cached.read_bytes())
        data[len(data) // 3] ^= 0xFF  # one flipped byte inside a data page
        cached.write_bytes(bytes(data))
        os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old timestamp
        downloads = counting.paths.count("/api/v1/versions/data")
        assert client.get("team/scores", "v1").equals(table(20_000))
        assert counting.paths.count("/api/v1/versions/data") == downloads + 1
        cached.chmod(0o644)
        cached.write_bytes(b"garbage")  # a truncated file: caught by its stamp before reading
        assert client.get("team/scores", "v1").equals(table(20_000))
        assert meta["content_hash"] in str(next((tmp_path / "cache" / "objects").rglob("*.parquet")))


def test_publish_through_the_api_and_rejections_carry_the_report(settings: Settings,
                                                                  server: tuple[str, CountingApp],
                                                                  tmp_path: Path) -> None:
    url, _ = server
    with Client(url, cache_dir=tmp_path / "cache") as client:
        done = client.publish("team/scores", table(), message="from the API")
        assert done["status"] == "published" and done["version"]["origin"] == "upload"
        people = pa.table({"contact": [f"person{i}@example.org" for i in range(200)]})
        with pytest.raises(ClientError) as rejected:
            client.publish("crm/contacts", people)
        assert rejected.value.status == 422 and rejected.value.report["status"] == "rejected"
        allowed = client.publish("crm/contacts", people,
                                 allow_pii={"contact": "newsletter subscribers who opted in"})
        assert allowed["version"]["pii_allowed"][0]["column"] == "contact"
        with pytest.raises(ClientError) as conflict:
            client.publish("team/scores", table(seed=5), base=0)
        assert conflict.value.status == 409
    with pytest.raises(ClientError) as down, Client("http://127.0.0.1:9", cache_dir=tmp_path / "c2") as client:
        client.get("team/scores", "v1")
    assert down.value.status == 0 and "cannot reach" in str(down.value)


def test_local_client_without_a_server(settings: Settings, tmp_path: Path) -> None:
    with Client(str(settings.home), cache_dir=tmp_path / "cache") as client:
        client.publish("team/scores", table())
        assert client.get("team/scores", "v1").equals(table())
        assert client.versions("team/scores")[0]["rows"] == 3000
        with pytest.raises(ClientError) as bad:
            client.get("../etc", "v1")
        assert bad.value.status in (400, 404)


def test_versions_live_on_an_s3_remote_and_come_back_after_the_cache_is_lost(
        tmp_path: Path, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from catalog.db import migrate
    from catalog.settings import load_settings
    from tests.s3_server import running_moto

    with running_moto() as (endpoint, _spy):
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="versions")
        monkeypatch.setenv("CATALOG_DVC_REMOTE", "s3://versions/catalog")
        monkeypatch.setenv("CATALOG_DVC_REMOTE_ENDPOINT_URL", endpoint)
        remote_home = load_settings(home=tmp_path / "s3home")
        migrate(remote_home)
        version = publish(remote_home, actor, "team/scores", data=table())["version"]
        listed = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(
            Bucket="versions")["Contents"]
        assert [o["Key"] for o in listed] == [f"catalog/files/md5/{version['md5'][:2]}/{version['md5'][2:]}"]
        repo = VersionRepo(remote_home)
        cached = repo.cache_path(version["md5"])
        cached.chmod(0o644)
        cached.unlink()  # a fresh replica, or a cleaned cache
        with Client(str(remote_home.home), cache_dir=tmp_path / "cache") as client:
            assert client.get("team/scores", "v1").equals(table())
        assert cached.exists()



def _cache_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "objects").rglob("*") if p.is_file())


def test_bytes_that_do_not_hash_are_refused_and_nothing_is_cached(settings: Settings, actor: Actor,
                                                                  tmp_path: Path,
                                                                  server: tuple[str, CountingApp]) -> None:
    url, _ = server
    version = publish(settings, actor, "team/scores", data=table(20_000))["version"]
    served = VersionRepo(settings).cache_path(version["md5"])
    served.chmod(0o644)
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the server's copy went bad after publishing
    served.write_bytes(bytes(data))
    with Client(url, cache_dir=tmp_path / "cache") as client:
        with pytest.raises(ClientError) as refused:
            client.get("team/scores", "v1")
        assert refused.value.status == 502 and "nothing was cached" in str(refused.value)
        assert _cache_files(tmp_path / "cache") == []
        with pytest.raises(ClientError):
            client.download("team/scores", "v1", tmp_path / "out")
        assert _cache_files(tmp_path / "cache") == []


def test_an_incoming_entry_checks_size_and_hash_before_it_becomes_an_entry(tmp_path: Path) -> None:
    import hashlib

    from catalog.client_cache import CorruptDownload, VersionCache

    cache = VersionCache(tmp_path / "cache", "test")
    body = os.urandom(9 * 1024 * 1024 + 5)  # more than one hashing step, not a multiple of one
    sha = hashlib.sha256(body).hexdigest()
    with pytest.raises(CorruptDownload, match="received"), cache.receive(sha, len(body)) as short:
        short.write(body[:100])
        short.finish()
    with pytest.raises(CorruptDownload, match="more than"), cache.receive(sha, 10) as long:
        long.write(body[:11])
    with pytest.raises(CorruptDownload, match="hash to"), cache.receive(sha, len(body)) as altered:
        altered.write(body[:-1] + bytes([body[-1] ^ 1]))
        altered.finish()
    assert _cache_files(tmp_path / "cache") == [] and cache.valid(sha) is None
    with cache.receive(sha, len(body)) as incoming:
        for start in range(0, len(body), 65536):
            incoming.write(body[start:start + 65536])
        incoming.finish()
        path = incoming.commit()
    assert path.read_bytes() == body and cache.valid(sha) == path
    assert _cache_files(tmp_path / "cache") == [f"{sha}.ok", f"{sha}.parquet"]
