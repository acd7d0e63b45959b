"""Object stores and folders: Parquet, CSV/TSV, JSON, Arrow files and binary collections, crawled in one pass."""

from connectors.objects.connector import ObjectStoreConnector

__all__ = ["ObjectStoreConnector"]
