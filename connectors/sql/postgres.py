"""PostgreSQL: three bulk pg_catalog queries per schema (relations, columns, keys).

Read inside one REPEATABLE READ transaction per schema so the three queries see the same snapshot: a table
dropped mid-crawl is either fully there or fully absent, never half-read.

The relations query also returns a server-side fingerprint of each relation (kind, comment, columns with types,
nullability and comments, keys). Relations whose fingerprint equals the previous crawl's are not read again, so a
re-crawl of an unchanged schema costs one query. Bump `FINGERPRINT_VERSION` whenever what this reader emits
for the same catalog rows changes (say, new type normalisation), so old fingerprints stop matching.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

from connectors.base import DatasetKind, NameFilter
from connectors.sql.rows import ColumnRow, RelationRow, SchemaRows

_KINDS = {"r": DatasetKind.TABLE, "p": DatasetKind.TABLE, "f": DatasetKind.TABLE,
          "v": DatasetKind.VIEW, "m": DatasetKind.VIEW}
_KIND_PROPS = {"p": "partitioned table", "f": "foreign table", "m": "materialized view"}

SCHEMAS = text("""
    SELECT nspname FROM pg_catalog.pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
    ORDER BY nspname
""")

FINGERPRINT_VERSION = "pg1"

RELATIONS = text("""
    SELECT c.relname, c.relkind, c.reltuples::bigint AS reltuples, od.comment,
           md5(concat_ws('|', c.relkind, od.comment,
               (SELECT string_agg(concat_ws(',', a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                                            a.attnotnull, d.description), ';' ORDER BY a.attnum)
                FROM pg_catalog.pg_attribute a
                LEFT JOIN pg_catalog.pg_description d ON d.objoid = a.attrelid
                     AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
               (SELECT string_agg(concat_ws(',', con.contype, con.conkey::text, fn.nspname, fc.relname,
                           (SELECT string_agg(fa.attname, ',' ORDER BY fa.attnum) FROM pg_catalog.pg_attribute fa
                            WHERE fa.attrelid = con.confrelid AND fa.attnum = ANY (con.confkey))),
                       ';' ORDER BY con.conname)
                FROM pg_catalog.pg_constraint con
                LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
                LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
                WHERE con.conrelid = c.oid AND con.contype IN ('p', 'f')))) AS fingerprint
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (SELECT obj_description(c.oid, 'pg_class') AS comment) od
    WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
""")

COLUMNS = text("""
    SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull, d.description AS comment
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_description d
           ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
    WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
      AND a.attnum > 0 AND NOT a.attisdropped
      AND (CAST(:everything AS boolean) OR c.relname = ANY (CAST(:names AS text[])))
""")

KEYS = text("""
    SELECT c.relname, con.contype, a.attname, fn.nspname AS ref_schema, fc.relname AS ref_table,
           fa.attname AS ref_column
    FROM pg_catalog.pg_constraint con
    JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(attnum, fattnum)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
    LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
    LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
    LEFT JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum
    WHERE n.nspname = :schema AND con.contype IN ('p', 'f')
      AND (CAST(:everything AS boolean) OR c.relname = ANY (CAST(:names AS text[])))
""")


class PostgresReader:
    isolation_level = "REPEATABLE READ"

    def list_schemas(self, conn: Connection) -> list[str]:
        return [row[0] for row in conn.execute(SCHEMAS)]

    def read_schema(self, conn: Connection, schema: str, tables: NameFilter,
                    previous: Mapping[str, str]) -> tuple[SchemaRows, set[str]]:
        rows = SchemaRows(schema)
        for name, kind, reltuples, comment, digest in conn.execute(RELATIONS, {"schema": schema}).all():
            if not tables.accepts(name, f"{schema}/{name}"):
                continue
            props = {"storage": _KIND_PROPS[kind]} if kind in _KIND_PROPS else {}
            estimate = int(reltuples) if reltuples is not None and reltuples >= 0 else None
            fingerprint = f"{FINGERPRINT_VERSION}:{digest}"
            rows.relations[name] = RelationRow(name, _KINDS[kind], estimate, comment, properties=props,
                                               fingerprint=fingerprint,
                                               unchanged=previous.get(f"{schema}/{name}") == fingerprint)
        changed = [name for name, relation in rows.relations.items() if not relation.unchanged]
        if not changed:
            return rows, set()
        # Read everything when much changed (one plain scan), else only the changed relations.
        everything = len(changed) * 2 > len(rows.relations)
        params = {"schema": schema, "everything": everything, "names": [] if everything else changed}
        for table, attnum, name, type_, notnull, comment in conn.execute(COLUMNS, params).all():
            if table in rows.relations and not rows.relations[table].unchanged:
                rows.columns.append(ColumnRow(table, attnum, name, type_, not notnull, comment))
        for table, contype, column, ref_schema, ref_table, ref_column in conn.execute(KEYS, params).all():
            if table not in rows.relations:
                continue
            if contype == "p":
                rows.primary_keys.add((table, column))
            else:
                rows.add_foreign_key(table, column, ref_schema, ref_table, ref_column)
        return rows, set()
