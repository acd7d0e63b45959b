"""Where objects live: a local folder or an S3-compatible bucket, behind one small interface.

Listing is a generator in both cases, so a prefix with 100,000 objects is never held in memory, and every object
is listed exactly once. Keys come out depth-first: all objects under a folder are contiguous, which is what lets
the crawler close a folder (and emit its datasets) as soon as the listing has moved past it.

S3 listing goes through boto3 rather than pyarrow.fs or fsspec: their listings return whole lists, while boto3's
paginator streams 1,000 keys at a time. Reads are one plain HTTP range GET each (a suffix range reads a Parquet
footer in one request) on a urllib3 connection pool, to a URL presigned by boto3: boto3 still decides endpoint,
credentials and signature, but its per-call machinery (~3 ms of CPU under the interpreter lock) would otherwise
cap a 2-core crawler at a few hundred files per second, whatever the concurrency.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit


class StoreError(Exception):
    """One object or folder could not be read; the message names it and says why in one line."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One listed object. `key` is relative to the source root, with `/` separators."""

    key: str
    size: int
    modified: datetime | None = None
    etag: str | None = None


class ObjectStore(Protocol):
    root: str

    def walk(self, on_unlistable: Any) -> Iterator[ObjectInfo]:
        """Every object under the root, depth-first; `on_unlistable(folder_key, message)` for folders that
        cannot be listed (the walk goes on)."""

    def list_folder(self, folder: str, recursive: bool) -> Iterator[ObjectInfo]:
        """The objects under one folder key ("" for the root), keys relative to the root as in `walk`; only
        the folder's own files unless `recursive`. Used to find a dataset's files again when sampling it."""

    def read_range(self, key: str, start: int, length: int) -> bytes: ...

    def read_tail(self, key: str, length: int, size: int) -> bytes: ...

    def check(self) -> None:
        """Raise StoreError when the root cannot be reached at all."""


class LocalStore:
    """A folder on this machine. Symlinked folders are not followed (they can loop); symlinked files are."""

    def __init__(self, root: Path) -> None:
        self.root_path = root
        self.root = str(root)

    def check(self) -> None:
        if not self.root_path.exists():
            raise StoreError(f"folder {self.root} does not exist")
        if not self.root_path.is_dir():
            raise StoreError(f"{self.root} is not a folder")
        try:
            with os.scandir(self.root_path):
                pass
        except OSError as exc:
            raise StoreError(f"cannot list folder {self.root}: {exc.strerror}") from None

    def walk(self, on_unlistable: Any) -> Iterator[ObjectInfo]:
        yield from self._walk(self.root_path, "", on_unlistable)

    def _walk(self, folder: Path, prefix: str, on_unlistable: Any) -> Iterator[ObjectInfo]:
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            on_unlistable(prefix.rstrip("/"), f"cannot list folder: {exc.strerror}")
            return
        with entries:
            for entry in entries:
                key = prefix + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        yield from self._walk(Path(entry.path), key + "/", on_unlistable)
                        continue
                    info = entry.stat()
                except OSError as exc:
                    on_unlistable(key, f"cannot read: {exc.strerror}")
                    continue
                if stat.S_ISREG(info.st_mode):
                    yield ObjectInfo(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    def list_folder(self, folder: str, recursive: bool) -> Iterator[ObjectInfo]:
        def failed(key: str, message: str) -> None:
            raise StoreError(f"cannot list {key or self.root}: {message}")

        start = self.root_path / folder if folder else self.root_path
        prefix = f"{folder}/" if folder else ""
        if not start.is_dir():
            return  # the folder is gone: no files
        if recursive:
            yield from self._walk(start, prefix, failed)
            return
        try:
            with os.scandir(start) as entries:
                for entry in entries:
                    if entry.is_file():
                        info = entry.stat()
                        yield ObjectInfo(prefix + entry.name, info.st_size,
                                         datetime.fromtimestamp(info.st_mtime, UTC))
        except OSError as exc:
            failed(folder, exc.strerror or str(exc))

    def _path(self, key: str) -> Path:
        return self.root_path / key

    def read_range(self, key: str, start: int, length: int) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                handle.seek(start)
                return handle.read(length)
        except OSError as exc:
            raise StoreError(f"cannot read: {exc.strerror}") from None

    def read_tail(self, key: str, length: int, size: int) -> bytes:
        start = max(0, size - length)
        return self.read_range(key, start, size - start)

    def local_path(self, key: str) -> Path:
        return self._path(key)


class S3Store:
    """A bucket and prefix on any S3-compatible endpoint.

    Options: `endpoint_url`, `region` (default us-east-1), `aws_access_key_id` / `aws_secret_access_key`
    (already resolved from `env:`/`file:` references by the catalog; otherwise boto3's usual environment chain),
    `anonymous=true` for public buckets, `timeout_s` for connect and read timeouts (default 10).
    """

    def __init__(self, url: str, options: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        if not parts.netloc:
            raise StoreError(f"'{url}' names no bucket: write s3://bucket/prefix")
        self.bucket = unquote(parts.netloc)
        prefix = unquote(parts.path).strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.root = f"s3://{self.bucket}/{self.prefix}"
        self._client = _s3_client(options)
        self._http = _http_pool(options)

    def check(self) -> None:
        try:
            self._client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except Exception as exc:  # noqa: BLE001 - boto raises many unrelated types; one line for all
            raise StoreError(f"cannot list {self.root}: {_boto_reason(exc)}") from None

    def walk(self, on_unlistable: Any) -> Iterator[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        cut = len(self.prefix)
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                key = item["Key"][cut:]
                if not key or key.endswith("/"):
                    continue  # folder markers written by consoles and some tools
                yield ObjectInfo(key, int(item["Size"]), item.get("LastModified"), item.get("ETag", "").strip('"'))

    def list_folder(self, folder: str, recursive: bool) -> Iterator[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        cut = len(self.prefix)
        options = {} if recursive else {"Delimiter": "/"}
        prefix = self.prefix + (f"{folder}/" if folder else "")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **options):
                for item in page.get("Contents", ()):
                    key = item["Key"][cut:]
                    if key and not key.endswith("/"):
                        yield ObjectInfo(key, int(item["Size"]), item.get("LastModified"),
                                         item.get("ETag", "").strip('"'))
        except Exception as exc:  # noqa: BLE001 - boto raises many unrelated types; one line for all
            raise StoreError(f"cannot list {self.root}{folder}: {_boto_reason(exc)}") from None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return self._get(key, f"bytes={start}-{start + length - 1}")

    def read_tail(self, key: str, length: int, size: int) -> bytes:
        if size <= length:
            return self._get(key, None)
        return self._get(key, f"bytes=-{length}")

    def _get(self, key: str, byte_range: str | None) -> bytes:
        import urllib3

        url = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.prefix + key}, ExpiresIn=PRESIGN_SECONDS)
        try:
            response = self._http.request("GET", url, headers={"Range": byte_range} if byte_range else None)
        except urllib3.exceptions.HTTPError as exc:
            # urllib3 quotes the URL; its query holds a signature valid for minutes, which a warning must not keep
            raise StoreError(f"cannot read: {_QUERY.sub('', str(exc).splitlines()[0])}") from None
        if response.status in (200, 206):
            return response.data
        if response.status == 416:  # a range past the end: the object is empty
            return b""
        raise StoreError(f"cannot read: {_http_reason(response.status, response.data)}")


PRESIGN_SECONDS = 900
_QUERY = re.compile(r"\?[^\s'\")]*")
_XML_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]{1,300})</Message>")


def _http_reason(status: int, body: bytes) -> str:
    """`AccessDenied Access Denied (HTTP 403)` from an S3 XML error body, without request ids."""
    code, message = _XML_CODE.search(body or b""), _XML_MESSAGE.search(body or b"")
    words = [m.group(1).decode("utf-8", "replace") for m in (code, message) if m]
    return " ".join([*words, f"(HTTP {status})"])


def _http_pool(options: Mapping[str, str]) -> Any:
    import urllib3

    timeout = float(options.get("timeout_s", "10"))
    retries = urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504),
                            raise_on_status=False)
    return urllib3.PoolManager(maxsize=int(options.get("concurrency", "16")) + 4, block=False, retries=retries,
                               timeout=urllib3.Timeout(connect=timeout, read=timeout))


def _s3_client(options: Mapping[str, str]) -> Any:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    timeout = float(options.get("timeout_s", "10"))
    config = Config(
        connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=int(options.get("concurrency", "16")) + 4,
        signature_version=UNSIGNED if options.get("anonymous", "").lower() in {"1", "true", "yes"} else "s3v4",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=options.get("endpoint_url") or None,
        region_name=options.get("region") or "us-east-1",
        aws_access_key_id=options.get("aws_access_key_id") or None,
        aws_secret_access_key=options.get("aws_secret_access_key") or None,
        aws_session_token=options.get("aws_session_token") or None,
        config=config,
    )


def _boto_reason(exc: Exception) -> str:
    """One line without request ids or signatures: the error code and message, or the connection failure."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        code = error.get("Code", "error")
        message = error.get("Message") or {"403": "access denied", "404": "not found"}.get(str(code), "")
        return f"{code} {message}".strip()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def open_store(url: str, options: Mapping[str, str]) -> ObjectStore:
    if url.startswith("s3://"):
        return S3Store(url, options)
    if url.startswith("file://"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise StoreError(f"'{url}' names a remote host; file:// URLs must be local")
        return LocalStore(Path(unquote(parts.path)))
    raise StoreError(f"'{url.split(':', 1)[0]}:' is not an object store URL")
