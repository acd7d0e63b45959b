"""SQLite: sqlite_master joined with the pragma table-valued functions, one query each per schema.

Comments come from the CREATE TABLE text (see `sqlite_comments`). Attached databases are schemas
(`main`, plus any `attach` option). A view whose definition no longer compiles
makes the bulk column query fail as a whole; we then read relation by relation so only that view is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from connectors.base import DatasetKind, NameFilter
from connectors.sql.rows import ColumnRow, RelationRow, SchemaRows
from connectors.sql.sqlite_comments import parse_comments


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _master(schema: str) -> str:
    return f"{quote_identifier(schema)}.sqlite_master"


_COLUMNS_SQL = (
    "SELECT p.cid, p.name, p.type, p.\"notnull\", p.pk FROM pragma_table_xinfo(:table, :schema) p WHERE p.hidden <> 1"
)
_ROWS_SQL = re.compile(r"^\s*(\d+)")


class SqliteReader:
    isolation_level = None

    def list_schemas(self, conn: Connection) -> list[str]:
        return [row[1] for row in conn.exec_driver_sql("PRAGMA database_list") if row[1] != "temp"]

    def read_schema(self, conn: Connection, schema: str, tables: NameFilter,
                    previous: Mapping[str, str]) -> tuple[SchemaRows, set[str]]:
        rows = SchemaRows(schema)
        relations = conn.execute(text(
            f"SELECT name, type, sql FROM {_master(schema)} "  # noqa: S608 - schema is quoted, names are bound
            "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ))
        column_comments: dict[str, dict[str, str]] = {}
        for name, type_, sql in relations:
            if tables.accepts(name, f"{schema}/{name}"):
                kind = DatasetKind.VIEW if type_ == "view" else DatasetKind.TABLE
                table_comment, column_comments[name] = parse_comments(sql) if type_ == "table" else (None, {})
                rows.relations[name] = RelationRow(name, kind, comment=table_comment)
        self._read_columns(conn, rows)
        for column in rows.columns:
            column.comment = column_comments.get(column.table, {}).get(column.name)
        self._read_foreign_keys(conn, rows)
        self._read_row_estimates(conn, rows)
        with_columns = {c.table for c in rows.columns}
        vanished = {n for n, r in rows.relations.items() if n not in with_columns and not r.broken}
        return rows, vanished

    def _read_columns(self, conn: Connection, rows: SchemaRows) -> None:
        try:
            result = conn.execute(text(
                f"SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.pk FROM {_master(rows.schema)} m "  # noqa: S608
                "JOIN pragma_table_xinfo(m.name, :schema) p WHERE m.type IN ('table', 'view') AND p.hidden <> 1"
            ), {"schema": rows.schema}).all()
        except DBAPIError:
            # One broken view fails the whole join: read relation by relation to find and skip it.
            result = []
            for name, relation in rows.relations.items():
                try:
                    table_rows = conn.execute(text(_COLUMNS_SQL), {"table": name, "schema": rows.schema}).all()
                except DBAPIError as exc:
                    relation.broken = str(exc.orig).splitlines()[0]
                    continue
                result.extend((name, *row) for row in table_rows)
        for table, cid, column, type_, notnull, pk in result:
            if table not in rows.relations:
                continue
            rows.columns.append(ColumnRow(table, int(cid), column, type_ or "", not notnull))
            if pk:
                rows.primary_keys.add((table, column))

    def _read_foreign_keys(self, conn: Connection, rows: SchemaRows) -> None:
        result = conn.execute(text(
            f"SELECT m.name, f.\"from\", f.\"table\", f.\"to\" FROM {_master(rows.schema)} m "  # noqa: S608
            "JOIN pragma_foreign_key_list(m.name, :schema) f WHERE m.type = 'table'"
        ), {"schema": rows.schema})
        for table, column, ref_table, ref_column in result:
            if table in rows.relations:
                rows.add_foreign_key(table, column, rows.schema, ref_table, ref_column)

    def _read_row_estimates(self, conn: Connection, rows: SchemaRows) -> None:
        """Row counts from `sqlite_stat1` (written by ANALYZE); never a full count."""
        has_stats = conn.execute(
            text(f"SELECT 1 FROM {_master(rows.schema)} WHERE name = 'sqlite_stat1'")  # noqa: S608
        ).first()
        if not has_stats:
            return
        stats = conn.execute(text(f"SELECT tbl, stat FROM {quote_identifier(rows.schema)}.sqlite_stat1"))  # noqa: S608
        for table, stat in stats:
            match = _ROWS_SQL.match(stat or "")
            relation = rows.relations.get(table)
            if match and relation is not None:
                relation.row_estimate = max(relation.row_estimate or 0, int(match.group(1)))
