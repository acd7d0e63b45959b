"""Errors that the CLI and the API turn into one clear line (never a traceback)."""


class CatalogError(Exception):
    """A problem the user can fix; the message names what is wrong."""


class NotFound(CatalogError):
    """A named thing (source, dataset) does not exist."""


class InvalidInput(CatalogError):
    """Bad user input; the message names the field."""


class Unauthenticated(CatalogError):
    """No valid credentials (missing, unknown, expired or revoked token or session)."""


class PermissionDenied(CatalogError):
    """The acting principal may not do this."""


class TooLarge(CatalogError):
    """A request body over the limit for what it carries (a page form, an upload)."""


class Conflict(CatalogError):
    """Someone else changed the thing first (two publishes of one dataset at once); retry on top of theirs."""


class SourceUnavailable(CatalogError):
    """A crawled source could not be read to the end (down, unreachable, connection dropped); nothing was stored
    from the attempt and it can simply be tried again."""


class PublishRejected(CatalogError):
    """A version failed its checks; `report` holds every gate's result (never a data value)."""

    def __init__(self, message: str, report: dict[str, object]) -> None:
        super().__init__(message)
        self.report = report
