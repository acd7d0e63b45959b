"""Any other SQLAlchemy dialect: the inspector's `get_multi_*` calls (bulk where the dialect supports it)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, inspect
from sqlalchemy.engine.reflection import ObjectKind

from connectors.base import DatasetKind, NameFilter
from connectors.sql.rows import ColumnRow, RelationRow, SchemaRows


class InspectorReader:
    isolation_level = None

    def list_schemas(self, conn: Connection) -> list[str]:
        inspector = inspect(conn)
        default = inspector.default_schema_name
        names = inspector.get_schema_names()
        return names or ([default] if default else [])

    def read_schema(self, conn: Connection, schema: str, tables: NameFilter,
                    previous: Mapping[str, str]) -> tuple[SchemaRows, set[str]]:
        inspector = inspect(conn)
        rows = SchemaRows(schema)
        for name in inspector.get_table_names(schema=schema):
            if tables.accepts(name, f"{schema}/{name}"):
                rows.relations[name] = RelationRow(name, DatasetKind.TABLE)
        for name in inspector.get_view_names(schema=schema):
            if tables.accepts(name, f"{schema}/{name}"):
                rows.relations[name] = RelationRow(name, DatasetKind.VIEW)
        kinds = ObjectKind.ANY
        for (_, table), columns in inspector.get_multi_columns(schema=schema, kind=kinds).items():
            if table not in rows.relations:
                continue
            for position, column in enumerate(columns, start=1):
                rows.columns.append(ColumnRow(table, position, column["name"], str(column["type"]),
                                              bool(column.get("nullable", True)), column.get("comment")))
        for (_, table), pk in inspector.get_multi_pk_constraint(schema=schema, kind=kinds).items():
            for column in pk.get("constrained_columns") or []:
                rows.primary_keys.add((table, column))
        for (_, table), fks in inspector.get_multi_foreign_keys(schema=schema, kind=kinds).items():
            for fk in fks:
                for column, ref_column in zip(fk["constrained_columns"], fk["referred_columns"], strict=False):
                    rows.add_foreign_key(table, column, fk.get("referred_schema") or schema,
                                         fk["referred_table"], ref_column)
        try:
            comments = inspector.get_multi_table_comment(schema=schema, kind=kinds)
        except NotImplementedError:
            comments = {}
        for (_, table), comment in comments.items():
            if table in rows.relations:
                rows.relations[table].comment = comment.get("text")
        return rows, set()
