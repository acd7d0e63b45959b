"""PII classification of catalog columns: labels, confidences with readable evidence, masking and text scrubbing.

Entry points: `classify_columns` (one call per table, so columns can be each other's neighbours), `mask_value` for
displaying or storing samples of suspected columns, and `scrub_text` for free text. The runtime is pure Python
(no model, no faker): validators, a multilingual column-name vocabulary and a compact name lexicon in `data/`.
"""

from annotator.pii.classifier import classify_columns
from annotator.pii.labels import (
    LABELS,
    SUGGEST_THRESHOLD,
    SUSPECT_THRESHOLD,
    ColumnContext,
    Evidence,
    Finding,
)
from annotator.pii.mask import mask_value, scrub_text

__all__ = [
    "LABELS",
    "SUGGEST_THRESHOLD",
    "SUSPECT_THRESHOLD",
    "ColumnContext",
    "Evidence",
    "Finding",
    "classify_columns",
    "mask_value",
    "scrub_text",
]
