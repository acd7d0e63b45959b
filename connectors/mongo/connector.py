"""The MongoDB connector: every collection and view becomes a dataset whose schema is inferred from a sample.

URLs: `mongodb://` and `mongodb+srv://`. A database in the URL path (`mongodb://host/shop`) limits the crawl to
that database (and is used to list it even when the user may not list databases); otherwise every database the
user may see is crawled except the system databases `admin`, `local` and `config`. A system database in the path
(`mongodb://user:pw@host/admin`, conventionally there only to authenticate against) does not limit the crawl.
`system.*` collections are always skipped.

Options (all optional):
- `sample_size` (default 1000): documents read per collection. A collection whose estimated count is at most
  this is read in full (a deterministic result); a larger one is sampled with `$sample`, or, on a server
  without `$sample`, read from the start with a bounded `find()` and a warning.
- `max_fields` (default 500): columns per dataset; when a collection has more paths, the ones present in the
  most documents are kept and the crawl warns.
- `timeout_ms` (default 5000): how long to look for a server before giving up (serverSelectionTimeoutMS and
  connectTimeoutMS).
- `databases` / `exclude_databases`: comma-separated globs on database names.
- `include` / `exclude`: comma-separated globs matched against `db/collection` and `collection`.

Datasets: path `<db>/<collection>`, kind COLLECTION or VIEW. `row_estimate` is the server's estimated document
count (views: none, counting would run the pipeline). `properties` hold `indexes` (name, keys with direction,
unique, sparse, ttl_seconds, partial_filter), and for views `viewOn` and `pipeline`, plus `capped`,
`timeseries` and `validator` when set. `stats` hold `documents_sampled` and `sampling` (`all`, `sample` or
`first`), which drift from sample to sample and are not part of the schema. How documents become columns (paths,
escaping of literal dots, types, nullability, stats) is described in `connectors.mongo.infer`; the type mapping
in `connectors.mongo.types`. There is no server-side fingerprint: every crawl samples again.

Sampling (`sample`): `$sample` of the limit when the estimated count is larger, else a plain read of the whole
collection (see `connectors.mongo.sampling`); option `sample_timeout_s` (default 60) bounds each read on the
server (maxTimeMS). A collection that no longer exists or cannot be read is a `ConnectorError` naming it.

Failures: a server that cannot be reached within `timeout_ms`, a bad URL or refused credentials are one
`ConnectorError` line (from `test_connection` and `crawl` alike). A database whose collections cannot be listed
(permission denied) is marked incomplete and the crawl goes on; so is a collection that cannot be read, so that
nothing already catalogued under it is deleted because of a passing error. A view the server cannot sample is
still listed, with its definition and no columns, and a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from bson.codec_options import DatetimeConversion
from bson.errors import BSONError
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import ConfigurationError, ConnectionFailure, OperationFailure, PyMongoError

from connectors.base import (
    Connector,
    ConnectorError,
    Crawled,
    CrawlReport,
    DatasetKind,
    DatasetSnapshot,
    NameFilter,
    RowSample,
    SampleTarget,
)
from connectors.mongo.infer import MAX_NAME_LENGTH, Inference, infer_schema
from connectors.mongo.properties import collection_properties, describe_indexes
from connectors.mongo.sampling import read_documents, sample_documents

SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
DEFAULTS = {"sample_size": 1000, "max_fields": 500, "timeout_ms": 5000, "sample_timeout_s": 60}


@dataclass(frozen=True)
class _Limits:
    sample_size: int
    max_fields: int
    timeout_ms: int
    sample_timeout_s: int


class MongoConnector(Connector):
    kind = "mongodb"
    schemes = ("mongodb://", "mongodb+srv://")

    # -- setup -------------------------------------------------------------------------------------------------

    def _limits(self) -> _Limits:
        values: dict[str, int] = {}
        for option, default in DEFAULTS.items():
            raw = str(self.options.get(option, default)).strip()
            if not raw.isdigit() or int(raw) < 1:
                raise ConnectorError(self.name, f"option {option} must be a positive whole number, not '{raw}'")
            values[option] = int(raw)
        return _Limits(**values)

    def _client(self, limits: _Limits) -> MongoClient[dict[str, Any]]:
        try:
            return MongoClient(
                self.url,
                serverSelectionTimeoutMS=limits.timeout_ms,
                connectTimeoutMS=limits.timeout_ms,
                appname="catalog-crawler",
                # Hostile data must not fail a whole batch: dates beyond Python's range arrive as DatetimeMS,
                # invalid UTF-8 is replaced.
                datetime_conversion=DatetimeConversion.DATETIME_AUTO,
                unicode_decode_error_handler="replace",
            )
        except (ConfigurationError, ValueError, TypeError) as exc:
            raise ConnectorError(self.name, f"cannot use the MongoDB URL: {self._message(exc)}") from None

    def _message(self, exc: BaseException) -> str:
        """One line from a driver error: no topology dump, no `full error` document, no password."""
        text = str(exc)
        if isinstance(exc, OperationFailure) and isinstance(exc.details, Mapping) and exc.details.get("errmsg"):
            text = str(exc.details["errmsg"])
        text = text.split(", Timeout: ", 1)[0].split(", full error: ", 1)[0]
        text = re.sub(r" \(configured timeouts: [^)]*\)", "", text)
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
        try:
            password = urlsplit(self.url).password
        except ValueError:
            password = None
        for secret in {password, unquote(password or "")} - {None, ""}:
            line = line.replace(str(secret), "***")
        return line[:500]

    def _ping(self, client: MongoClient[dict[str, Any]], limits: _Limits) -> None:
        try:
            client.admin.command("ping")
        except ConnectionFailure as exc:
            raise ConnectorError(
                self.name, f"cannot reach MongoDB: {self._message(exc)} (gave up after {limits.timeout_ms} ms)"
            ) from None
        except PyMongoError as exc:
            raise ConnectorError(self.name, f"MongoDB refused the connection: {self._message(exc)}") from None

    def test_connection(self) -> None:
        limits = self._limits()
        client = self._client(limits)
        try:
            self._ping(client, limits)
        finally:
            client.close()

    # -- sample ------------------------------------------------------------------------------------------------

    def sample(self, target: SampleTarget, limit: int) -> RowSample:
        limits = self._limits()
        client = self._client(limits)
        db_name, _, name = target.path.partition("/")  # database names cannot hold a slash, collections can
        try:
            self._ping(client, limits)
            database = client.get_database(db_name)
            infos = list(database.list_collections(filter={"name": name}))
            if not infos:
                raise ConnectorError(self.name, f"dataset '{target.path}' no longer exists")
            collection = database.get_collection(name)
            estimate = None if infos[0].get("type") == "view" else self._estimate(collection)
            documents, method, warnings = read_documents(collection, estimate, limit,
                                                         limits.sample_timeout_s * 1000)
            return sample_documents(target, documents, method, limit, estimate, warnings)
        except ConnectionFailure as exc:
            raise ConnectorError(self.name, f"lost the connection to MongoDB: {self._message(exc)}") from None
        except (PyMongoError, BSONError, RecursionError, ValueError) as exc:
            raise ConnectorError(self.name, f"dataset '{target.path}' cannot be read: {self._message(exc)}") from None
        finally:
            client.close()

    # -- crawl -------------------------------------------------------------------------------------------------

    def crawl(self, report: CrawlReport) -> Iterator[Crawled]:
        limits = self._limits()
        client = self._client(limits)
        try:
            self._ping(client, limits)
            for db_name in self._databases(client):
                database = client.get_database(db_name)
                for info in self._collections(database, report):
                    path = f"{db_name}/{info['name']}"
                    try:
                        yield self._snapshot(database, info, path, limits, report)
                    except ConnectionFailure as exc:
                        self._ping(client, limits)  # the server is gone: fail the crawl, keep what is stored
                        report.mark_incomplete(path, f"collection could not be read: {self._message(exc)}")
                    except (PyMongoError, BSONError, RecursionError, ValueError) as exc:
                        report.mark_incomplete(path, f"collection could not be read: {self._message(exc)}")
        except ConnectionFailure as exc:
            raise ConnectorError(self.name, f"lost the connection to MongoDB: {self._message(exc)}") from None
        finally:
            client.close()

    def _databases(self, client: MongoClient[dict[str, Any]]) -> list[str]:
        wanted = NameFilter.from_options(self.options, "databases", "exclude_databases")
        try:
            in_url = client.get_default_database().name
        except ConfigurationError:
            in_url = None
        if in_url and in_url not in SYSTEM_DATABASES:
            return [in_url] if wanted.accepts(in_url) else []
        try:
            # authorizedDatabases: a user without the listDatabases privilege still sees their own databases.
            listed = client.list_databases(nameOnly=True, authorizedDatabases=True)
            names = sorted(str(d["name"]) for d in listed)
        except ConnectionFailure:
            raise  # reported by `crawl` as a lost connection
        except PyMongoError as exc:
            raise ConnectorError(
                self.name, f"cannot list databases: {self._message(exc)} (name one in the URL: mongodb://host/<db>)"
            ) from None
        return [n for n in names if n not in SYSTEM_DATABASES and wanted.accepts(n)]

    def _collections(self, database: Database[dict[str, Any]], report: CrawlReport) -> list[Mapping[str, Any]]:
        """The collections and views to read, by name; [] (and the database marked incomplete) if unlistable."""
        wanted = NameFilter.from_options(self.options, "include", "exclude")
        try:
            infos = list(database.list_collections())
        except ConnectionFailure:
            raise
        except PyMongoError as exc:
            report.mark_incomplete(database.name, f"database could not be listed: {self._message(exc)}")
            return []
        chosen = [
            info for info in infos
            if not str(info["name"]).startswith("system.")
            and wanted.accepts(f"{database.name}/{info['name']}", str(info["name"]))
        ]
        return sorted(chosen, key=lambda info: str(info["name"]))

    def _snapshot(self, database: Database[dict[str, Any]], info: Mapping[str, Any], path: str, limits: _Limits,
                  report: CrawlReport) -> DatasetSnapshot:
        is_view = info.get("type") == "view"
        collection = database.get_collection(str(info["name"]))
        properties = collection_properties(info)
        estimate = None if is_view else self._estimate(collection)
        try:
            documents, sampling = self._documents(collection, estimate, limits, path, report)
            inference = infer_schema(documents, limits.max_fields)
        except OperationFailure as exc:
            if not is_view:
                raise
            report.warn(path, f"view could not be sampled, listed without columns: {self._message(exc)}")
            inference, sampling = Inference((), 0, 0), "failed"
        self._warn_about_limits(inference, path, limits, report)
        if not is_view:
            properties["indexes"] = describe_indexes(collection.list_indexes())
        stats: dict[str, Any] = {"documents_sampled": inference.documents, "sampling": sampling}
        if inference.capped:
            stats["fields_found"] = inference.paths_found
        return DatasetSnapshot(
            path=path,
            kind=DatasetKind.VIEW if is_view else DatasetKind.COLLECTION,
            columns=inference.columns,
            row_estimate=estimate,
            properties=properties,
            stats=stats,
        )

    @staticmethod
    def _estimate(collection: Collection[dict[str, Any]]) -> int | None:
        try:
            return int(collection.estimated_document_count())
        except OperationFailure:
            return None  # e.g. a time-series collection on an older server: no estimate is not an error

    def _documents(self, collection: Collection[dict[str, Any]], estimate: int | None, limits: _Limits, path: str,
                   report: CrawlReport) -> tuple[Iterable[Mapping[str, Any]], str]:
        """The documents to infer from and how they were chosen: `all`, `sample` or `first`."""
        size = limits.sample_size
        if estimate is not None and estimate <= size:
            return collection.find({}, limit=size), "all"
        try:
            return collection.aggregate([{"$sample": {"size": size}}], allowDiskUse=True), "sample"
        except OperationFailure as exc:
            message = self._message(exc)
            if "$sample" not in message:
                raise  # not about $sample: a broken view pipeline, a permission, ...
            report.warn(path, f"the server cannot $sample ({message}): read the first {size} documents")
            return collection.find({}, limit=size), "first"

    @staticmethod
    def _warn_about_limits(inference: Inference, path: str, limits: _Limits, report: CrawlReport) -> None:
        if inference.capped:
            found = f"more than {inference.paths_found}" if inference.tracking_limited else str(inference.paths_found)
            report.warn(path, f"{found} fields found: only the {limits.max_fields} present in the most documents "
                              "are listed (option max_fields)")
        if inference.too_long:
            report.warn(path, f"{inference.too_long} field path(s) longer than {MAX_NAME_LENGTH} characters skipped")
