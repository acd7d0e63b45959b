"""Errors that the CLI and the API turn into one clear line (never a traceback)."""


class CatalogError(Exception):
    """A problem the user can fix; the message names what is wrong."""


class NotFound(CatalogError):
    """A named thing (source, dataset) does not exist."""


class InvalidInput(CatalogError):
    """Bad user input; the message names the field."""


class PermissionDenied(CatalogError):
    """The acting principal may not do this."""
