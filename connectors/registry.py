"""Find the connector class for a source URL: built-ins first, then `catalog.connectors` entry points."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points

from connectors.base import Connector, ConnectorError


def _registered() -> list[type[Connector]]:
    from connectors.sql import SqlConnector

    classes: list[type[Connector]] = []
    for ep in entry_points(group="catalog.connectors"):
        try:
            cls = ep.load()
        except Exception:  # noqa: BLE001 - a broken plug-in must not break built-in sources
            continue
        if isinstance(cls, type) and issubclass(cls, Connector) and cls is not SqlConnector:
            classes.append(cls)
    # The SQL connector claims any SQLAlchemy URL, so it is asked last.
    return [*classes, SqlConnector]


def connector_class(url: str) -> type[Connector]:
    for cls in _registered():
        if cls.handles(url):
            return cls
    raise ConnectorError("?", f"no connector understands URLs like '{url.split(':', 1)[0]}:'")


def connector_for(name: str, url: str, options: Mapping[str, str] | None = None) -> Connector:
    """Build (without I/O) the connector for a resolved source URL."""
    try:
        cls = connector_class(url)
    except ConnectorError as exc:
        raise ConnectorError(name, str(exc).split(": ", 1)[1]) from None
    return cls(name, url, options)
