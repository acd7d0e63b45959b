"""Multipart form posts whose uploaded file streams to disk under the catalog's home, bounded in size.

Why not Starlette's own form parser: it spools uploads into the system's temporary folder with no size limit,
and the pages' CSRF guard (`catalog.deps.csrf_guard`, a router dependency) parses the form before any route code
runs, so a route could not bound an upload it has not seen yet. A router built with `route_class=UploadRoute`
hands its endpoints an `UploadRequest` instead: its `form()` (one parse, cached, shared by the guard and the route)
keeps text fields in memory (each bounded), writes the file part into a fresh folder of the versions staging area
(the same filesystem as the DVC cache, and under the catalog's home) and counts its bytes against the same limit
as the JSON API (`CATALOG_MAX_UPLOAD_BYTES`). Past the limit the file is deleted and reading stops; `too_large`
says so and the route answers 413. When the request ends, however it ends, the folder is deleted.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from fastapi.routing import APIRoute
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from catalog.errors import InvalidInput

FIELD_BYTES = 64 * 1024  # one text field (the publish form's largest, the PII allowances, is far smaller)
MAX_FIELDS = 50
FRAMING_BYTES = 1024 * 1024  # text fields and multipart framing, allowed on top of the file limit


@dataclass
class StoredFile:
    """An uploaded file on disk. `filename` is what the browser sent: hostile, for display only (escaped)."""

    field: str
    filename: str
    path: Path
    size: int = 0


@dataclass
class Upload:
    """What a multipart post carried: text fields, at most one file, and whether the file was over the limit."""

    limit: int
    fields: list[tuple[str, str]] = field(default_factory=list)
    file: StoredFile | None = None
    too_large: bool = False


def upload_limit() -> int:
    """The JSON API's limit, read per request so that both always agree (and tests can lower it)."""
    from catalog import api_versions

    return api_versions.MAX_UPLOAD_BYTES


def safe_file_name(filename: str) -> str:
    """A file name for the staging folder: the browser's base name with only portable characters, suffix kept
    (publish picks the reader by suffix and names the file in its errors)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base).lstrip("._-")
    return cleaned[-120:] or "upload"


class _FormStream:
    """python-multipart callbacks: text fields kept (bounded), file bytes queued for `flush` to write to disk."""

    def __init__(self, upload: Upload, folder: Callable[[], Path], hopeless: bool) -> None:
        self.upload, self.folder, self.hopeless = upload, folder, hopeless
        self.stop = False  # the caller stops reading: the file is over the limit
        self.pending: list[bytes] = []
        self.ended = False  # the file part is complete: close it at the next flush
        self._done = False  # the file is closed (complete) or deleted (over the limit)
        self._handle: BinaryIO | None = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._data = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished}

    def on_part_begin(self) -> None:
        self._disposition, self._name, self._is_file, self._data = b"", "", False, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InvalidInput("the form could not be read: a part has no field name")
        self._name = options[b"name"].decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._is_file = filename is not None
        if not filename:
            return  # a text field, or a file input left empty (browsers send an empty file name)
        if self.upload.file is not None:
            raise InvalidInput("upload one file per version")
        if self.hopeless:
            self.upload.too_large, self.stop = True, True
            return
        name = filename.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]  # old browsers send paths
        self.upload.file = StoredFile(self._name, name[:300], self.folder() / safe_file_name(name))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            if len(self._data) + end - start > FIELD_BYTES:
                raise InvalidInput(f"form field '{self._name[:100]}' is longer than {FIELD_BYTES:,} bytes")
            self._data += data[start:end]
            return
        stored = self.upload.file
        if stored is None or self.upload.too_large or self.ended:
            return
        stored.size += end - start
        if stored.size > self.upload.limit:
            self.upload.too_large, self.pending = True, []
            return
        self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        if self._is_file:
            self.ended = self.ended or self.upload.file is not None
            return
        if len(self.upload.fields) >= MAX_FIELDS:
            raise InvalidInput(f"the form has more than {MAX_FIELDS} fields")
        self.upload.fields.append((self._name, self._data.decode("utf-8", "replace")))

    @property
    def has_work(self) -> bool:
        return self.upload.file is not None and not self._done and bool(
            self.pending or self.ended or self.upload.too_large)

    def flush(self) -> None:
        """Write the queued bytes (called in a worker thread: disk writes never block the event loop); a file
        over the limit is deleted at once."""
        stored = self.upload.file
        if stored is None or not self.has_work:
            return
        if self.upload.too_large:
            self.close()
            stored.path.unlink(missing_ok=True)
            self._done = True
            return
        if self._handle is None:
            stored.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(stored.path, "wb")  # closed by `close`, also on errors
        for chunk in self.pending:
            self._handle.write(chunk)
        self.pending = []
        if self.ended:
            self.close()
            self._done = True

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class UploadRequest(Request):
    """A request whose multipart form streams its file to the staging area (see the module docstring)."""

    streams_uploads = True  # the page guard (`catalog.deps._bound_page_form`) leaves its body to `form()`

    _upload_folder: Path | None = None

    @property
    def upload(self) -> Upload | None:
        """The parsed multipart post (after `form()`), else None."""
        return self.scope.get("catalog.upload")

    async def _get_form(self, *, max_files: int | float = 1000, max_fields: int | float = 1000,
                        max_part_size: int = 1024 * 1024) -> FormData:
        """Starlette's `form()` parses through this method; multipart bodies take the streaming path here."""
        content_type, _ = parse_options_header(self.headers.get("content-type", ""))
        if self._form is None and content_type == b"multipart/form-data":
            upload = await self._stream_upload()
            self.scope["catalog.upload"] = upload
            self._form = FormData(upload.fields)
        return await super()._get_form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)

    async def _stream_upload(self) -> Upload:
        _, options = parse_options_header(self.headers.get("content-type", ""))
        if not options.get(b"boundary"):
            raise InvalidInput("the form could not be read: its multipart boundary is missing")
        upload = Upload(limit=upload_limit())
        bound = upload.limit + FRAMING_BYTES
        declared = self.headers.get("content-length", "")
        parts = _FormStream(upload, self._folder, hopeless=declared.isdigit() and int(declared) > bound)
        parser = MultipartParser(options[b"boundary"], parts.callbacks())  # type: ignore[arg-type]
        received = 0
        try:
            async with contextlib.aclosing(self.stream()) as stream:
                async for chunk in stream:
                    received += len(chunk)
                    parser.write(chunk)
                    if received > bound:  # chunked or understated bodies: stop at the bound whatever they say
                        upload.too_large, parts.stop = True, True
                    if parts.has_work:
                        await run_in_threadpool(parts.flush)
                    if parts.stop:
                        return upload
            parser.finalize()
        except FormParserError as error:
            raise InvalidInput(f"the form could not be read ({error.__class__.__name__})") from None
        finally:
            await run_in_threadpool(parts.close)
        return upload

    def _folder(self) -> Path:
        """This request's own folder in the staging area (created when the file's first bytes arrive)."""
        if self._upload_folder is None:
            from catalog.publish_input import staging_name
            from catalog.version_repo import VersionRepo

            staging = VersionRepo(self.app.state.settings).staging_dir()
            self._upload_folder = staging / staging_name("upload-", "")
        return self._upload_folder

    def discard(self) -> None:
        """Delete what this request uploaded."""
        if self._upload_folder is not None:
            shutil.rmtree(self._upload_folder, ignore_errors=True)


class UploadRoute(APIRoute):
    """A route whose endpoint (and dependencies) get an `UploadRequest`; uploads are deleted when it answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_uploads(request: Request) -> Response:
            streamed = UploadRequest(request.scope, request.receive)
            try:
                return await handler(streamed)
            finally:
                await run_in_threadpool(streamed.discard)

        return with_uploads
