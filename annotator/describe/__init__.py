"""Description backends: short plain-text descriptions of columns and tables (rules, local model, remote endpoint)."""

from annotator.describe.base import (
    PROMPT_VERSION,
    Backend,
    BackendError,
    ColumnBrief,
    Description,
    TableBrief,
)

__all__ = ["PROMPT_VERSION", "Backend", "BackendError", "ColumnBrief", "Description", "TableBrief"]
