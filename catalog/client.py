"""The Python client: `from catalog.client import Client`.

`Client("http://host:8000", token=...)` speaks the JSON API, so programs use exactly what the web UI and the CLI
use, under the same access rules. `Client("/path/to/catalog_home")` (or `file:///...`) works on a local catalog
without a server, through the same library calls the CLI makes.

Versions: `get(name, version)` returns a `pyarrow.Table` of exactly that version (`.to_pandas()` for pandas);
bytes come through a local content-addressed cache (see `catalog.client_cache`): they are hashed on arrival and
must match the catalog's content hash; a pinned version (`v3`, a hash prefix) read again makes no network call;
a damaged cache entry is detected and fetched again. Over HTTP, `decode_while_downloading=True` decodes row groups
while the rest of the file still downloads (`catalog.client_decode`; off by default: on 2 cores it was slower);
the table is returned only once the whole file hashed right.
`versions`, `download`, `publish` complete the set.
Errors come back as `ClientError` with the catalog's one-line message and an HTTP-like status.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pyarrow as pa

from catalog.client_cache import CorruptDownload, Incoming, VersionCache, default_cache_dir

DIRECT_MIN_BYTES = 4 * 1024 * 1024  # smaller versions come through the pooled httpx connection
PINNED_PREFIXES = ("v",)
VERSIONS_PER_CALL = 1000  # the API's largest page: a long history costs few round trips
OVERLAP_MIN_BYTES = 32 * 1024 * 1024  # below this, a footer request costs more than decoding while downloading saves


class ClientError(Exception):
    """The catalog refused or failed a request; `status` is the HTTP status (0 when it could not be reached).
    A rejected publish carries the checks' `report`."""

    def __init__(self, message: str, status: int, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.report = report


def _is_pinned(ref: str) -> bool:
    """`v3` and hash prefixes always name the same bytes; `latest` does not."""
    return ref.strip().lower() != "latest"


class Client:
    """A connection to one catalog; thread-safe for reads (httpx clients are), reuse one per program."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 60.0,
                 cache_dir: str | Path | None = None, decode_while_downloading: bool = False) -> None:
        """`decode_while_downloading=True` fetches a version's footer first and decodes its row groups as they
        arrive. Off by default: on the 2-core VM the decoder competed with the download and the hashing for the
        same two cores, and a cold 1 GB get took ~0.7 s longer than downloading first and decoding after
        (bench/fetch.py); with cores to spare it can hide the download."""
        url = str(url)
        self._overlap = decode_while_downloading
        if url.startswith(("http://", "https://")):
            self._transport: Any = _Http(url, token, timeout_s)
        else:
            self._transport = _Local(url[len("file://"):] if url.startswith("file://") else url)
        self._cache = VersionCache(Path(cache_dir).expanduser() if cache_dir else default_cache_dir(),
                                   self._transport.key)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # -- discovery ----------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 10, *, source: str | None = None, kind: str | None = None,
               pii: bool | None = None, mode: str = "hybrid") -> list[dict[str, Any]]:
        """Datasets and columns matching `query`, best first (each with `dataset`, `column`, `score`, `why`)."""
        params = {"q": query, "limit": limit, "source": source, "kind": kind, "mode": mode,
                  "pii": None if pii is None else str(pii).lower()}
        return self._transport.call("search", "/api/v1/search", params)["results"]

    def dataset(self, name: str) -> dict[str, Any]:
        """One dataset as `catalog show --json` prints it."""
        return self._transport.call("dataset", "/api/v1/datasets/" + quote(name, safe="/"), {"name": name})

    # -- versions -----------------------------------------------------------------------------------------------
    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every published version of `name`, newest first (the API's pages, followed to the end)."""
        params: dict[str, Any] = {"dataset": name, "limit": VERSIONS_PER_CALL}
        found: list[dict[str, Any]] = []
        while True:
            page = self._transport.call("versions", "/api/v1/versions", params)
            found.extend(page["versions"])
            if page.get("next_before") is None:
                return found
            params = {**params, "before": page["next_before"]}

    def version(self, name: str, version: str = "latest") -> dict[str, Any]:
        """One version's record (hash, size, rows, schema, publisher, parents, checks)."""
        return self._transport.call("resolve", "/api/v1/versions/resolve", {"dataset": name, "version": version})

    def _resolve(self, name: str, version: str) -> dict[str, Any]:
        version = str(version or "latest").strip()
        if _is_pinned(version):
            known = self._cache.pinned(name, version.lower())
            if known is not None:
                return known
        meta = self.version(name, version)
        pinned = {k: meta[k] for k in ("dataset", "version", "number", "content_hash", "md5", "size", "rows")}
        refs = {meta["version"], meta["content_hash"]} | ({version.lower()} if _is_pinned(version) else set())
        self._cache.pin(name, refs, pinned)
        return pinned

    def _cached_file(self, name: str, version: str) -> tuple[dict[str, Any], Path]:
        meta = self._resolve(name, version)
        path = self._cache.valid(meta["content_hash"])
        return meta, path if path is not None else self._store(name, meta)

    def _store(self, name: str, meta: dict[str, Any]) -> Path:
        """Download a version into the cache (hashed on arrival) and return the verified entry."""
        with self._cache.receive(meta["content_hash"], meta["size"]) as incoming:
            return self._receive(name, meta, incoming)

    def _receive(self, name: str, meta: dict[str, Any], incoming: Incoming) -> Path:
        """Stream the version into `incoming`; the entry exists only if every byte arrived and hashed right."""
        try:
            self._transport.fill(name, meta["version"], incoming)
            incoming.finish()
            return incoming.commit()
        except CorruptDownload as exc:
            raise ClientError(f"{name} {meta['version']}: {exc}; nothing was cached", 502) from None

    def _fetch(self, name: str, meta: dict[str, Any], columns: list[str] | None) -> pa.Table:
        """A version that is not in the cache: downloaded, verified, cached and read, decoding row groups while
        the download goes on when the transport can fetch the footer first."""
        footer = self._footer(name, meta) if self._overlap and meta["size"] >= OVERLAP_MIN_BYTES else None
        if footer is None or not _top_level(footer.metadata, columns):
            # Just hashed to the content hash on arrival: page checksums would re-check the same bytes (~0.25 s a GB).
            return _read_entry(self._store(name, meta), columns, check_pages=False)
        return self._fetch_decoding(name, meta, columns, footer)

    def _footer(self, name: str, meta: dict[str, Any]) -> _Footer | None:
        """The version's Parquet footer by a range request, or None when that is not possible (a local home, a
        server without ranges, a file of one row group): the caller then downloads first and decodes after."""
        from catalog.client_decode import TAIL_BYTES, NotParquet, footer_length, parse_footer

        fetch = getattr(self._transport, "tail", None)
        size = meta["size"]
        got = fetch(name, meta["version"], TAIL_BYTES) if fetch is not None else None
        try:
            if got is not None and got[1] == size and len(got[0]) < footer_length(got[0]) <= size - 4:
                got = fetch(name, meta["version"], footer_length(got[0]))  # bigger than the first guess
            if got is None or got[1] != size:
                return None  # the full download will report a size that does not match
            metadata = parse_footer(got[0], size)
        except NotParquet:
            return None
        raw = got[0][-footer_length(got[0]):]
        return _Footer(raw, metadata) if metadata.num_row_groups > 1 else None

    def _fetch_decoding(self, name: str, meta: dict[str, Any], columns: list[str] | None,
                        footer: _Footer) -> pa.Table:
        """Download into the cache while a `RowGroupDecoder` decodes what has arrived; the decoded table is
        returned only after the whole file hashed right and its footer is the one decoded with. Any decoding
        trouble with verified bytes falls back to reading the entry the usual way (which raises if it must)."""
        from catalog.client_decode import RowGroupDecoder

        with self._cache.receive(meta["content_hash"], meta["size"]) as incoming:
            decoder = RowGroupDecoder(incoming, footer.metadata, len(footer.raw), columns)
            try:
                path = self._receive(name, meta, incoming)
            finally:
                incoming.close()  # ends the download in every case, so the decoder stops waiting for bytes
                decoder.join()
        if _tail_of(path, len(footer.raw)) == footer.raw:
            try:
                return decoder.table()
            except Exception:  # the verified file, read the usual way, gives the real error (if any)
                pass
        return _read_entry(path, columns, check_pages=False)

    def get(self, name: str, version: str = "latest", columns: Sequence[str] | None = None) -> pa.Table:
        """Exactly the bytes of that version, as a `pyarrow.Table` (`.to_pandas()` for a DataFrame)."""
        import pyarrow.lib

        wanted = list(columns) if columns else None
        meta = self._resolve(name, version)
        path = self._cache.valid(meta["content_hash"])
        if path is not None:
            try:
                return _read_entry(path, wanted, check_pages=True)
            except (pyarrow.lib.ArrowException, OSError):
                self._cache.evict(meta["content_hash"])  # damaged on disk since it was verified: fetch again
        return self._fetch(name, meta, wanted)

    def download(self, name: str, version: str = "latest", dest: str | Path = ".") -> Path:
        """Copy the version's Parquet file to `dest`: a folder (existing, or a path without a suffix, created) or a
        file path; returns the path written."""
        meta, path = self._cached_file(name, version)
        target = Path(dest).expanduser()
        if target.is_dir() or not target.suffix:
            target = target / f"{name.rsplit('/', 1)[-1]}-{meta['version']}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return target

    def publish(self, name: str, data: Any, *, message: str | None = None, parents: Sequence[str] = (),
                allow_pii: Mapping[str, str] | None = None, allow_schema_change: str | None = None,
                base: int | None = None) -> dict[str, Any]:
        """Publish `data` (a pyarrow Table, a pandas DataFrame, or a path to a file or folder) as a new version.

        Returns `{"status": "published"|"unchanged", "version": {...}, "report": {...}}`; a version that fails
        its checks raises `ClientError` (status 422) with the checks' `report`.
        """
        return self._transport.publish(name, data, {
            "message": message, "parents": list(parents), "allow_pii": dict(allow_pii or {}),
            "allow_schema_change": allow_schema_change, "base": base})

    def publish_from(self, name: str, source: str, *, recipe: Mapping[str, Any] | str | Path | None = None,
                     message: str | None = None, parents: Sequence[str] = (),
                     allow_pii: Mapping[str, str] | None = None, allow_schema_change: str | None = None,
                     base: int | None = None) -> dict[str, Any]:
        """Publish the next version of `name` from crawled dataset `source`, read in batches on the catalog's
        side and cleaned by `recipe` (a mapping, YAML/JSON text, or a path to a recipe file; default: the recipe
        stored with `name`). The recipe's HMAC key is read where the catalog runs, never sent."""
        body = {"source": source, "recipe": _recipe_arg(recipe), "message": message, "parents": list(parents),
                "allow_pii": dict(allow_pii or {}), "allow_schema_change": allow_schema_change, "base": base}
        return self._transport.recipes("publish_from", {"dataset": name}, body)

    def recipe(self, name: str) -> dict[str, Any]:
        """The redaction recipe stored with published dataset `name` (`recipe` None when it has none)."""
        return self._transport.recipes("get", {"dataset": name}, None)

    def save_recipe(self, name: str, recipe: Mapping[str, Any] | str | Path, source: str) -> dict[str, Any]:
        """Check `recipe` against `source`'s columns and store it with `name` for the next publishes."""
        return self._transport.recipes("save", {"dataset": name}, {"source": source, "recipe": _recipe_arg(recipe)})

    def suggest_recipe(self, source: str) -> dict[str, Any]:
        """A recipe proposed from `source`'s PII labels (`recipe` and its `yaml`), to review before publishing."""
        return self._transport.recipes("suggest", {"source": source}, None)

    # -- lineage ------------------------------------------------------------------------------------------------
    def log_run(self, name: str, inputs: Sequence[Any] = (), outputs: Sequence[Any] = (),
                metrics: Mapping[str, Any] | None = None, *, models: Sequence[Mapping[str, Any]] = (),
                parameters: Mapping[str, Any] | None = None, run_id: str | None = None,
                state: str = "complete") -> dict[str, Any]:
        """Record a run of job `name` and the exact dataset versions it read.

        `inputs` / `outputs`: `("sales/orders", "v3")`, `"sales/orders@v3"`, `("sales/orders",)` (the latest version
        now; the record says so) or `{"dataset": ..., "version": ..., "columns": [...]}`. An output dict with a
        `"model"` key is a model the run produced (`version`, `framework`, `metrics`, `location` optional), as is
        each of `models`. Returns the run with every version resolved to its content hash.
        """
        data_out = [o for o in outputs if not (isinstance(o, Mapping) and "model" in o)]
        produced = [o for o in outputs if isinstance(o, Mapping) and "model" in o] + list(models)
        body = {"name": name, "run_id": run_id, "state": state, "inputs": [_dataset_spec(i) for i in inputs],
                "outputs": [_dataset_spec(o) for o in data_out], "models": [_model_spec(m) for m in produced],
                "metrics": dict(metrics or {}), "parameters": dict(parameters or {})}
        return self._transport.lineage("log_run", {}, body)

    def models(self, name: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Models (newest first) with their drift status: `unchecked`, `no_retrain_needed`, `retrain_recommended`."""
        return self._transport.lineage("models", {"name": name, "status": status}, None)["models"]

    def model(self, name: str, version: str | None = None) -> dict[str, Any]:
        """One model with the run that produced it, the versions it was trained on and its drift verdict."""
        return self._transport.lineage("model", {"name": name, "version": version}, None)

    def lineage(self, dataset: str | None = None, version: str | None = None, *, column: str | None = None,
                model: str | None = None, model_version: str | None = None, run: str | None = None,
                direction: str = "both", depth: int = 6) -> dict[str, Any]:
        """The lineage graph (`nodes`, `edges`) upstream and/or downstream of a version, column, model or run."""
        return self._transport.lineage("graph", {"dataset": dataset, "version": version, "column": column,
                                                 "model": model, "model_version": model_version, "run": run,
                                                 "direction": direction, "depth": depth}, None)

    def impact(self, dataset: str | None = None, version: str | None = None, *, column: str | None = None,
               label: str | None = None) -> dict[str, Any]:
        """Models trained on a version, on any version of a dataset or containing a column, or on labelled data."""
        return self._transport.lineage("impact", {"dataset": dataset, "version": version, "column": column,
                                                  "label": label}, None)

    def import_dvc(self, project: str | Path, models: Mapping[str, str] | None = None,
                   name: str | None = None) -> dict[str, Any]:
        """Record the stages of a DVC project (its `dvc.lock`) as runs, matched to versions by md5.
        `models` maps output paths to model names; `name` defaults to the project folder's name."""
        from catalog.errors import CatalogError
        from catalog.lineage_dvc import read_lock

        folder = Path(project).expanduser().resolve()
        try:
            text = read_lock(folder)
        except CatalogError as exc:
            raise ClientError(str(exc), 400) from None
        label = name or (folder.name if folder.is_dir() else folder.parent.name)
        return self._transport.lineage("import_dvc", {"project": label, "model": [f"{p}={m}" for p, m in
                                                                                   (models or {}).items()]}, text)


def _dataset_spec(item: Any) -> dict[str, Any]:
    """A run input or output in any of the forms `log_run` accepts, as the API's JSON."""
    if isinstance(item, str):
        dataset, sep, version = item.rpartition("@")
        return {"dataset": dataset, "version": version} if sep and dataset else {"dataset": item}
    if isinstance(item, Mapping):
        return {k: (list(v) if k == "columns" else v) for k, v in item.items()
                if k in ("dataset", "version", "namespace", "columns")}
    if isinstance(item, Sequence) and 1 <= len(item) <= 2:
        return {"dataset": item[0], "version": item[1] if len(item) > 1 else None}
    raise ClientError(f"run input/output {item!r} must be 'name@v3', (name, version) or a dict", 400)


def _model_spec(item: Mapping[str, Any]) -> dict[str, Any]:
    spec = {k: item.get(k) for k in ("version", "framework", "metrics", "location") if item.get(k) is not None}
    spec["name"] = item.get("model") or item.get("name")
    if spec.get("version") is not None:
        spec["version"] = str(spec["version"])
    return spec


@dataclass(frozen=True)
class _Footer:
    """A version's footer as fetched (`raw`: the bytes, trailer included) and parsed."""

    raw: bytes
    metadata: Any  # pyarrow.parquet.FileMetaData


def _top_level(metadata: Any, columns: list[str] | None) -> bool:
    """Whether `columns` (None: all) are distinct top-level fields: `read_row_group` quietly skips unknown names
    where `read_table` raises, so anything else is read the usual way, with the usual errors."""
    if columns is None:
        return True
    names = set(metadata.schema.to_arrow_schema().names)
    return len(set(columns)) == len(columns) and all(column in names for column in columns)


def _tail_of(path: Path, length: int) -> bytes:
    """The last `length` bytes of a file."""
    with open(path, "rb") as reader:
        reader.seek(-length, 2)
        return reader.read(length)


def _read_entry(path: Path, columns: list[str] | None, *, check_pages: bool) -> pa.Table:
    """Read a cache entry through a memory map, so pages come straight from the page cache instead of being
    copied into a fresh gigabyte first: fresh memory is most of what a read costs on a VM (about 1-2 s a GB
    when the host has to back it). Safe because entries are never written in place, only replaced by rename,
    and the table never points into the map (Parquet decoding copies)."""
    import pyarrow.parquet as pq

    from catalog.parquet_io import read_verified

    with pa.memory_map(str(path)) as source:
        return read_verified(source, columns) if check_pages else pq.read_table(source, columns=columns)


class _Http:
    """The JSON API over HTTP."""

    def __init__(self, url: str, token: str | None, timeout_s: float) -> None:
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.key = url.rstrip("/")
        self.timeout_s = timeout_s
        self.http = httpx.Client(base_url=self.key, headers=self.headers, timeout=timeout_s)
        self.direct = _direct_reachable(self.key)

    def close(self) -> None:
        self.http.close()

    def _fail(self, response: httpx.Response) -> None:
        _refuse(response.status_code, response.reason_phrase, response.content)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the catalog at {self.key}: {type(exc).__name__}", 0) from None
        if response.status_code >= 400:
            self._fail(response)
        return response

    def call(self, _operation: str, path: str, params: dict[str, Any]) -> Any:
        params = {k: v for k, v in params.items() if v is not None and k != "name"}
        return self._send("GET", path, params=params).json()

    def fill(self, name: str, version: str, incoming: Incoming) -> None:
        """Download the version into `incoming`: large files straight from the socket into the file's pages
        (`_fill_direct`), small ones (and any behind a proxy) through the pooled httpx client."""
        if self.direct and incoming.size >= DIRECT_MIN_BYTES:
            self._fill_direct(name, version, incoming)
            return
        for chunk in self.stream(name, version):
            incoming.write(chunk)

    def _fill_direct(self, name: str, version: str, incoming: Incoming) -> None:
        """One `http.client` request whose body is read with `readinto` into the cache file's memory map. httpx
        hands over the body as a new bytes object per 64 KiB read, each passing through h11, httpcore and httpx:
        on the 2-core VM that was ~1.5-2 s of CPU a gigabyte, more than the network copy itself."""
        import http.client

        parts = urlsplit(self.key)
        path = f"{parts.path}/api/v1/versions/data?{urlencode({'dataset': name, 'version': version})}"
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout_s, context=httpx.create_ssl_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout_s)
        try:
            connection.request("GET", path, headers=self.headers)
            response = connection.getresponse()
            if response.status >= 400:
                _refuse(response.status, response.reason, response.read())
            incoming.fill(response.readinto)
        except (OSError, http.client.HTTPException) as exc:
            raise ClientError(f"download of {name} {version} from {self.key} failed: {type(exc).__name__}",
                              0) from None
        finally:
            connection.close()

    def stream(self, name: str, version: str) -> Iterator[bytes]:
        """The version's bytes as they come off the socket: `iter_raw()` without a chunk size hands over each
        network read (64 KiB, from reused heap memory); re-chunking them to 1 MiB cost ~0.6 s of system time a
        gigabyte (a fresh 1 MiB allocation per chunk)."""
        try:
            with self.http.stream("GET", "/api/v1/versions/data", params={"dataset": name, "version": version}
                                  ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._fail(response)
                yield from response.iter_raw()
        except httpx.HTTPError as exc:
            raise ClientError(f"download of {name} {version} from {self.key} failed: {type(exc).__name__}",
                              0) from None

    def tail(self, name: str, version: str, length: int) -> tuple[bytes, int] | None:
        """The last `length` bytes of the version's file and the file's size, by a Range request; None when the
        server answers without a range (its body, the whole file, is then left unread)."""
        params = {"dataset": name, "version": version}
        try:
            with self.http.stream("GET", "/api/v1/versions/data", params=params,
                                  headers={"Range": f"bytes=-{length}"}) as response:
                if response.status_code == 416:
                    return None
                if response.status_code >= 400:
                    response.read()
                    self._fail(response)
                total = _range_total(response.headers.get("content-range"))
                if response.status_code != 206 or total is None:
                    return None
                return response.read(), total
        except httpx.HTTPError as exc:
            raise ClientError(f"download of {name} {version} from {self.key} failed: {type(exc).__name__}",
                              0) from None

    def lineage(self, operation: str, params: dict[str, Any], body: Any) -> Any:
        path, method = LINEAGE_ROUTES[operation]
        params = {k: v for k, v in params.items() if v not in (None, [])}
        if operation == "import_dvc":
            return self._send("POST", path, params=params, content=body.encode("utf-8"),
                              headers={"Content-Type": "application/yaml"}).json()
        if method == "POST":
            return self._send("POST", path, params=params, json=body).json()
        return self._send("GET", path, params=params).json()

    def recipes(self, operation: str, params: dict[str, Any], body: Any) -> Any:
        path, method = RECIPE_ROUTES[operation]
        if method == "GET":
            return self._send("GET", path, params=params).json()
        return self._send(method, path, params=params, json=body).json()

    def publish(self, name: str, data: Any, options: dict[str, Any]) -> dict[str, Any]:
        import tempfile

        from catalog.publish_input import stage, stage_path

        with tempfile.TemporaryDirectory(prefix="catalog-publish-") as folder:
            if isinstance(data, str | Path):
                staged = stage_path(Path(data), Path(folder))
            else:
                staged = stage(data, Path(folder), "table")
            params: dict[str, Any] = {"dataset": name, "message": options["message"], "base": options["base"],
                                      "allow_schema_change": options["allow_schema_change"],
                                      "parents": options["parents"],
                                      "allow_pii": [f"{c}={j}" for c, j in options["allow_pii"].items()]}
            params = {k: v for k, v in params.items() if v not in (None, [])}
            with open(staged.path, "rb") as body:
                response = self._send("POST", "/api/v1/versions", params=params, content=body,
                                      headers={"Content-Type": "application/vnd.apache.parquet",
                                               "X-Content-Sha256": staged.digest.sha256},
                                      timeout=None)
            return response.json()


def _refuse(status: int, reason: str, body: bytes) -> None:
    """Raise the catalog's error: its JSON `error` (and a publish's `report`), else the body or the reason."""
    import json

    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        found = {"error": body.decode("utf-8", "replace")}
    raise ClientError(str(found.get("error") or reason)[:500], status, found.get("report"))


def _direct_reachable(url: str) -> bool:
    """Whether a plain `http.client` connection reaches `url` as httpx would: not when an environment proxy
    applies to it (httpx honours HTTP(S)_PROXY / ALL_PROXY / NO_PROXY; the direct path does not)."""
    import urllib.request

    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if parts.scheme not in ("http", "https") or not (proxies.get(parts.scheme) or proxies.get("all")):
        return parts.scheme in ("http", "https")
    return bool(urllib.request.proxy_bypass_environment(parts.hostname or "", proxies))


def _range_total(header: str | None) -> int | None:
    """The full size from a `Content-Range: bytes 10-99/100` header (None when absent or unknown: `*`)."""
    total = (header or "").rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


class _Local:
    """The same operations on a local `CATALOG_HOME`, through the library (the local user's rights)."""

    def __init__(self, home: str) -> None:
        from catalog.access import Actor
        from catalog.db import ensure_store
        from catalog.settings import load_settings

        self.settings = load_settings(home=home)
        ensure_store(self.settings)
        self.actor = Actor.local()
        self.key = f"file://{self.settings.home}"

    def close(self) -> None:
        pass

    def _guard(self, call: Any) -> Any:
        from catalog.errors import (
            CatalogError,
            Conflict,
            NotFound,
            PermissionDenied,
            PublishRejected,
            SourceUnavailable,
        )

        try:
            return call()
        except PublishRejected as exc:
            raise ClientError(str(exc), 422, exc.report) from None
        except CatalogError as exc:
            status = {NotFound: 404, PermissionDenied: 403, Conflict: 409, SourceUnavailable: 502}.get(type(exc), 400)
            raise ClientError(str(exc), status) from None

    def call(self, operation: str, _path: str, params: dict[str, Any]) -> Any:
        from catalog import datasets, versions
        from catalog.db import session_scope

        def run() -> Any:
            with session_scope(self.settings) as session:
                if operation == "versions":
                    return versions.list_versions(session, self.actor, params["dataset"],
                                                  limit=params.get("limit", versions.PAGE),
                                                  before=params.get("before"))
                if operation == "resolve":
                    return versions.describe_version(session, self.actor, params["dataset"], params["version"])
                if operation == "dataset":
                    return datasets.get_dataset(session, self.actor, params["name"])
                from catalog.search import Filters, search

                pii = params.get("pii")
                return search(session, self.actor, self.settings, params["q"], limit=params["limit"],
                              mode=params["mode"], filters=Filters(source=params.get("source"),
                                                                   kind=params.get("kind"),
                                                                   pii=None if pii is None else pii == "true"))

        return self._guard(run)

    def fill(self, name: str, version: str, incoming: Incoming) -> None:
        """Copy the version's file into `incoming`, read straight into the cache file's pages."""
        from catalog.db import session_scope
        from catalog.versions import fetch_version

        def locate() -> Path:
            with session_scope(self.settings) as session:
                return fetch_version(self.settings, session, self.actor, name, version, "local")[1]

        with open(self._guard(locate), "rb", buffering=0) as reader:
            incoming.fill(reader.readinto)

    def lineage(self, operation: str, params: dict[str, Any], body: Any) -> Any:
        from catalog.api_lineage import RunBody, parse_model_option, run_record
        from catalog.db import session_scope

        def run() -> Any:
            with session_scope(self.settings) as session:
                return _local_lineage(session, self.actor, operation, params, body)

        if operation == "log_run":
            from pydantic import ValidationError

            try:
                body = run_record(RunBody.model_validate(body))
            except ValidationError as exc:
                raise ClientError(f"run: {exc.errors()[0].get('msg')} at "
                                  f"{'.'.join(str(p) for p in exc.errors()[0].get('loc', ()))}", 400) from None
        if operation == "import_dvc":
            params = {**params, "model": dict(parse_model_option(m) for m in params.get("model", []))}
        return self._guard(run)

    def recipes(self, operation: str, params: dict[str, Any], body: Any) -> Any:
        from catalog.db import session_scope

        def run() -> Any:
            with session_scope(self.settings) as session:
                return _local_recipes(self.settings, session, self.actor, operation, params, body)

        return self._guard(run)

    def publish(self, name: str, data: Any, options: dict[str, Any]) -> dict[str, Any]:
        from catalog.publish import PublishOptions, publish

        chosen = PublishOptions(message=options["message"], parents=tuple(options["parents"]),
                                allow_pii=options["allow_pii"], allow_schema_change=options["allow_schema_change"],
                                base=options["base"])
        if isinstance(data, str | Path):
            return self._guard(lambda: publish(self.settings, self.actor, name, path=data, options=chosen))
        return self._guard(lambda: publish(self.settings, self.actor, name, data=data, options=chosen))


RECIPE_ROUTES = {"get": ("/api/v1/recipes", "GET"), "save": ("/api/v1/recipes", "PUT"),
                 "suggest": ("/api/v1/recipes/suggest", "GET"),
                 "publish_from": ("/api/v1/versions/from-dataset", "POST")}


def _recipe_arg(recipe: Mapping[str, Any] | str | Path | None) -> dict[str, Any] | str | None:
    """A recipe as the API takes it: a mapping or text; a `Path` is read here (the file is the caller's)."""
    if isinstance(recipe, Path):
        return recipe.read_text(encoding="utf-8")
    return dict(recipe) if isinstance(recipe, Mapping) else recipe


def _local_recipes(settings: Any, session: Any, actor: Any, operation: str, params: dict[str, Any], body: Any
                   ) -> Any:
    """The library call behind each recipe operation of a local client (the API routes make the same calls)."""
    from catalog import recipes

    if operation == "get":
        return recipes.get_recipe(session, actor, params["dataset"])
    if operation == "suggest":
        return recipes.suggest(session, actor, params["source"])
    if operation == "save":
        return recipes.save_recipe(settings, session, actor, params["dataset"], body["recipe"], body["source"])
    from catalog.publish import PublishOptions, publish

    options = PublishOptions(message=body["message"], parents=tuple(body["parents"]), allow_pii=body["allow_pii"],
                             allow_schema_change=body["allow_schema_change"], base=body["base"],
                             recipe=recipes.parse(body["recipe"]) if body["recipe"] is not None else None)
    return publish(settings, actor, params["dataset"], dataset=body["source"], options=options)


LINEAGE_ROUTES = {"log_run": ("/api/v1/runs", "POST"), "models": ("/api/v1/models", "GET"),
                  "model": ("/api/v1/models/detail", "GET"), "graph": ("/api/v1/lineage/graph", "GET"),
                  "impact": ("/api/v1/lineage/impact", "GET"), "import_dvc": ("/api/v1/lineage/dvc", "POST")}


def _local_lineage(session: Any, actor: Any, operation: str, params: dict[str, Any], body: Any) -> Any:
    """The library call behind each lineage operation of a local client (the API routes make the same calls)."""
    from catalog import lineage, lineage_graph
    from catalog.lineage_dvc import import_lock

    if operation == "log_run":
        return lineage.run_view(session, actor, lineage.record_run(session, actor, body))
    if operation == "models":
        return lineage.list_models(session, actor, params.get("name"), params.get("status"))
    if operation == "model":
        found = lineage.find_model(session, actor, params["name"], params.get("version"))
        return lineage.model_view(session, actor, found, detail=True)
    if operation == "graph":
        focus = lineage_graph.Focus(**{k: params.get(k) for k in ("dataset", "version", "column", "model",
                                                                  "model_version", "run")})
        return lineage_graph.graph(session, actor, focus, params["direction"], params["depth"])
    if operation == "impact":
        return lineage_graph.impact(session, actor, params.get("dataset"), params.get("version"),
                                    params.get("column"), params.get("label"))
    return import_lock(session, actor, body, params["project"], params["model"])
