"""MySQL and MariaDB: three bulk information_schema queries per database (MySQL calls schemas databases).

information_schema is not transactional, so a table dropped between the queries shows up as a relation with no
columns; such tables are checked once more and reported as dropped during the crawl. A view whose definition no
longer compiles is reported by MySQL through its TABLE_COMMENT; it becomes a warning.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, text

from connectors.base import DatasetKind, NameFilter
from connectors.sql.rows import ColumnRow, RelationRow, SchemaRows

SYSTEM_SCHEMAS = ("information_schema", "mysql", "performance_schema", "sys")

SCHEMAS = text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")

RELATIONS = text("""
    SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT, ENGINE
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = :schema
""")

COLUMNS = text("""
    SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_COMMENT
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :schema
""")

KEYS = text("""
    SELECT TABLE_NAME, COLUMN_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME,
           REFERENCED_COLUMN_NAME
    FROM information_schema.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA = :schema AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL)
""")

STILL_THERE = text("""
    SELECT TABLE_NAME FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = :schema AND TABLE_NAME IN :names
""").bindparams(bindparam("names", expanding=True))


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class MySqlReader:
    isolation_level = "READ COMMITTED"

    def __init__(self, default_schema: str | None) -> None:
        self.default_schema = default_schema

    def list_schemas(self, conn: Connection) -> list[str]:
        if self.default_schema:
            return [self.default_schema]
        return [_text(r[0]) for r in conn.execute(SCHEMAS) if _text(r[0]) not in SYSTEM_SCHEMAS]

    def read_schema(self, conn: Connection, schema: str, tables: NameFilter,
                    previous: Mapping[str, str]) -> tuple[SchemaRows, set[str]]:
        rows = SchemaRows(schema)
        params = {"schema": schema}
        for name, type_, table_rows, comment, engine in conn.execute(RELATIONS, params).all():
            name = _text(name)
            if not tables.accepts(name, f"{schema}/{name}"):
                continue
            rows.relations[name] = _relation(name, _text(type_), table_rows, _text(comment or ""), engine)
        for table, position, name, type_, nullable, comment in conn.execute(COLUMNS, params).all():
            table = _text(table)
            if table in rows.relations:
                rows.columns.append(
                    ColumnRow(table, int(position), _text(name), _text(type_), nullable == "YES", _text(comment))
                )
        for table, column, constraint, ref_schema, ref_table, ref_column in conn.execute(KEYS, params).all():
            table, column = _text(table), _text(column)
            if table not in rows.relations:
                continue
            if constraint == "PRIMARY":
                rows.primary_keys.add((table, column))
            else:
                rows.add_foreign_key(table, column, _text(ref_schema), _text(ref_table), _text(ref_column))
        return rows, self._vanished(conn, rows)

    def _vanished(self, conn: Connection, rows: SchemaRows) -> set[str]:
        with_columns = {c.table for c in rows.columns}
        empty = [n for n, r in rows.relations.items() if n not in with_columns and not r.broken]
        if not empty:
            return set()
        present = {_text(r[0]) for r in conn.execute(STILL_THERE, {"schema": rows.schema, "names": empty})}
        return set(empty) - present


def _relation(name: str, type_: str, table_rows: object, comment: str, engine: object) -> RelationRow:
    if type_ == "VIEW":
        # MySQL puts 'VIEW' in the comment of a good view and the compile error in the comment of a bad one.
        broken = comment if comment and comment != "VIEW" else None
        return RelationRow(name, DatasetKind.VIEW, None, None, broken=broken)
    estimate = int(table_rows) if table_rows is not None else None  # type: ignore[call-overload]
    props = {"engine": _text(engine)} if engine else {}
    return RelationRow(name, DatasetKind.TABLE, estimate, comment or None, properties=props)
