"""The SQL connector: any SQLAlchemy URL, with bulk catalog readers for PostgreSQL, MySQL/MariaDB and SQLite."""

from connectors.sql.connector import SqlConnector

__all__ = ["SqlConnector"]
