"""The Python client on versions: pinned, hash-verified gets through a cache, over HTTP and on a local home."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    """ASGI middleware counting requests by path, to prove a cached get makes no network call, and keeping the
    Range headers sent, to prove a cold get fetched the footer first."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.paths: list[str] = []
        self.ranges: list[str] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
            self.ranges += [v.decode() for k, v in scope["headers"] if k == b"range"]
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
    cache.evict(sha)
    # `fill`: a reader puts bytes straight into the file; too many or too few are refused the same way.
    with pytest.raises(CorruptDownload, match="more than"), cache.receive(sha, len(body)) as longer:
        longer.fill(io.BytesIO(body + b"!").readinto)
    with pytest.raises(CorruptDownload, match="received"), cache.receive(sha, len(body)) as shorter:
        shorter.fill(io.BytesIO(body[:-1]).readinto)
        shorter.finish()
    assert _cache_files(tmp_path / "cache") == []
    with cache.receive(sha, len(body)) as filled:
        filled.fill(io.BytesIO(body).readinto)
        filled.finish()
        assert filled.commit().read_bytes() == body and cache.valid(sha) is not None


# -- decoding while downloading -------------------------------------------------------------------------------------
SMALL_GROUPS = 4000  # rows per row group in these tests: many row groups from a small table


@pytest.fixture
def many_row_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files take the overlapped path and the direct download (no size thresholds) and are written in
    many row groups."""
    import catalog.client
    import catalog.parquet_io

    monkeypatch.setattr(catalog.parquet_io, "ROW_GROUP_ROWS", SMALL_GROUPS)
    monkeypatch.setattr(catalog.client, "OVERLAP_MIN_BYTES", 0)
    monkeypatch.setattr(catalog.client, "DIRECT_MIN_BYTES", 0)


def _no_plain_read(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record reads of a cache entry the usual way: a cold overlapped get must not need one."""
    import catalog.client

    plain, original = [], catalog.client._read_entry

    def spy(path: Path, columns: list[str] | None, *, check_pages: bool) -> pa.Table:
        plain.append(path)
        return original(path, columns, check_pages=check_pages)

    monkeypatch.setattr(catalog.client, "_read_entry", spy)
    return plain


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """`call()` on a daemon thread, so that a hang fails the test instead of stalling the suite."""
    import threading

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _decoders_alive() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == "cache-decode"]


def test_a_cold_get_decodes_row_groups_while_downloading_and_equals_read_table(
        settings: Settings, actor: Actor, server: tuple[str, CountingApp], tmp_path: Path,
        many_row_groups: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.client_decode import TAIL_BYTES

    url, counting = server
    version = publish(settings, actor, "team/scores", data=table(30_000))["version"]
    served = VersionRepo(settings).cache_path(version["md5"])
    assert pq.read_metadata(served).num_row_groups == 8
    expected = pq.read_table(served)
    plain = _no_plain_read(monkeypatch)
    with Client(url, cache_dir=tmp_path / "cache", decode_while_downloading=True) as client:
        cold = client.get("team/scores", "v1")
        assert plain == [] and counting.ranges == [f"bytes=-{TAIL_BYTES}"]  # footer first, decoded on the way
        assert cold.equals(expected) and cold.equals(table(30_000)) and cold.schema == expected.schema
        assert client.get("team/scores", "v1").equals(cold)  # warm: read from the entry the overlap wrote
        client._cache.evict(version["content_hash"])
        subset = client.get("team/scores", "v1", columns=["segment", "id"])
        assert subset.equals(pq.read_table(served, columns=["segment", "id"]))
        client._cache.evict(version["content_hash"])
        with pytest.raises(pa.ArrowInvalid, match="nope"):  # as read_table says it (read_row_group would not)
            client.get("team/scores", "v1", columns=["id", "nope"])
    with Client(url, cache_dir=tmp_path / "serial") as serial:  # the default: download, then decode
        assert serial.get("team/scores", "v1").equals(cold)
    assert len(counting.ranges) == 3 and _decoders_alive() == []


def test_a_corrupted_transfer_during_an_overlapped_decode_is_refused_and_nothing_is_cached(
        settings: Settings, actor: Actor, server: tuple[str, CountingApp], tmp_path: Path,
        many_row_groups: None) -> None:
    url, counting = server
    version = publish(settings, actor, "team/scores", data=table(30_000))["version"]
    served = VersionRepo(settings).cache_path(version["md5"])
    served.chmod(0o644)
    data = bytearray(served.read_bytes())
    first_group = pq.read_metadata(served).row_group(0).column(1)
    data[first_group.data_page_offset + 40] ^= 0xFF  # a page the decoder reaches long before the hash is done
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    with Client(url, cache_dir=tmp_path / "cache", decode_while_downloading=True) as client:
        for _ in range(2):  # refused every time: nothing half-verified was kept in between
            with pytest.raises(ClientError) as refused:
                client.get("team/scores", "v1")
            assert refused.value.status == 502 and "nothing was cached" in str(refused.value)
            assert _cache_files(tmp_path / "cache") == []
    assert len(counting.ranges) == 2 and _decoders_alive() == []


def test_row_groups_are_decoded_as_their_bytes_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import time

    import catalog.client_cache
    from catalog.client_cache import CorruptDownload, VersionCache
    from catalog.client_decode import RowGroupDecoder, footer_length, parse_footer, row_group_ends

    monkeypatch.setattr(catalog.client_cache, "NOTIFY_STEP", 1)  # wake the decoder on every write
    source = tmp_path / "five.parquet"
    rows = table(5 * 1000)
    pq.write_table(rows, source, row_group_size=1000)
    body = source.read_bytes()
    footer = body[-footer_length(body):]
    metadata = parse_footer(footer, len(body))
    ends = row_group_ends(metadata, len(body) - len(footer))
    assert len(ends) == 5 and ends == sorted(ends) and ends[-1] <= len(body) - len(footer)
    cache = VersionCache(tmp_path / "cache", "test")
    sha = hashlib.sha256(body).hexdigest()

    def wait_until(decoder: RowGroupDecoder, count: int) -> None:
        deadline = time.monotonic() + 10
        while decoder.decoded < count and time.monotonic() < deadline:
            time.sleep(0.01)

    with cache.receive(sha, len(body)) as incoming:
        decoder = RowGroupDecoder(incoming, metadata, len(footer), None)
        incoming.write(body[:ends[1]])
        wait_until(decoder, 2)
        time.sleep(0.1)
        assert decoder.decoded == 2  # two row groups decoded, and no further: the third has not arrived
        incoming.write(body[ends[1]:])
        incoming.finish()
        incoming.commit()
        decoder.join()
    assert decoder.table().equals(pq.read_table(source))

    with pytest.raises(CorruptDownload), cache.receive(sha, len(body)) as incoming:
        decoder = RowGroupDecoder(incoming, metadata, len(footer), None)
        incoming.write(body[:ends[2]])
        wait_until(decoder, 3)
        incoming.write(bytes(len(body) - ends[2]))  # the rest arrives as zeros
        try:
            incoming.finish()
        finally:
            incoming.close()
            decoder.join()
    assert decoder.decoded == 3 and decoder.error is not None  # the zeros did not decode; the hash refused them


class FakeTransport:
    """One version's bytes, served with a chosen tail: a server whose ranged answer is not the file's footer, or
    one without ranges (`tail=None`), or a connection that drops halfway (`fail_at`)."""

    key = "fake://catalog"

    def __init__(self, body: bytes, tail: bytes | None, fail_at: int | None = None) -> None:
        import hashlib

        self.body, self.tail_bytes, self.fail_at = body, tail, fail_at
        self.meta = {"dataset": "team/scores", "version": "v1", "number": 1, "md5": "-", "rows": 0,
                     "content_hash": hashlib.sha256(body).hexdigest(), "size": len(body)}

    def call(self, _operation: str, _path: str, _params: dict) -> dict:
        return self.meta

    def fill(self, _name: str, _version: str, incoming: Any) -> None:
        for start in range(0, len(self.body), 65536):
            if self.fail_at is not None and start >= self.fail_at:
                raise ClientError("download failed: ReadError", 0)
            incoming.write(self.body[start:start + 65536])

    def tail(self, _name: str, _version: str, length: int) -> tuple[bytes, int] | None:
        return None if self.tail_bytes is None else (self.tail_bytes[-length:], len(self.body))

    def close(self) -> None:
        pass


def test_only_the_verified_files_footer_is_trusted(settings: Settings, tmp_path: Path, many_row_groups: None
                                                   ) -> None:
    rows = table(5000)
    mine, other = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(rows.replace_schema_metadata({"made": "a"}), mine, row_group_size=1000)
    pq.write_table(rows.replace_schema_metadata({"made": "b"}), other, row_group_size=1000)
    body, foreign = mine.read_bytes(), other.read_bytes()
    footer = int.from_bytes(body[-8:-4], "little") + 8
    assert len(body) == len(foreign) and body[:-footer] == foreign[:-footer] and body != foreign

    def fetch(transport: FakeTransport, cache: str) -> pa.Table:
        with Client(str(settings.home), cache_dir=tmp_path / cache, decode_while_downloading=True) as client:
            client._transport = transport
            return client.get("team/scores", "v1")

    # The same data pages, another footer: decodable, but not this file's: the verified file is read instead.
    got = fetch(FakeTransport(body, foreign), "c1")
    assert got.equals(rows) and got.schema.metadata[b"made"] == b"a"
    assert fetch(FakeTransport(body, None), "c2").schema.metadata[b"made"] == b"a"  # no ranges: the old way
    with pytest.raises(ClientError, match="ReadError"):  # the decoder must not wait for bytes that never come
        _within(30, lambda: fetch(FakeTransport(body, body, fail_at=len(body) // 2), "c3"))
    assert _cache_files(tmp_path / "c3") == [] and _decoders_alive() == []


class RefusingData:
    """Answers the data route with the catalog's JSON error, as a catalog refusing the download would."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/versions/data":
            from starlette.responses import JSONResponse

            refusal = JSONResponse({"error": "ana may not read the data of team/scores"}, status_code=403)
            return await refusal(scope, receive, send)
        await self.app(scope, receive, send)  # type: ignore[operator]


def test_a_refused_download_says_why_on_every_path(settings: Settings, actor: Actor, tmp_path: Path,
                                                    many_row_groups: None) -> None:
    publish(settings, actor, "team/scores", data=table(30_000))
    with live_server(RefusingData(create_app(settings))) as url:
        for overlap in (False, True):  # the direct download; the footer's range request
            with Client(url, cache_dir=tmp_path / "cache", decode_while_downloading=overlap) as client:
                with pytest.raises(ClientError) as refused:
                    client.get("team/scores", "v1")
            assert refused.value.status == 403 and "may not read the data" in str(refused.value)
    assert _cache_files(tmp_path / "cache") == []
