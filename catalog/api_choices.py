"""The closed sets of values API parameters take, as `Literal` types, so the OpenAPI document lists them as enums.

Why here and derived from the services' own tuples: the services validate the same values for the CLI and the
pages, so each set is written once (in its service) and the API cannot drift from it. A value outside the set is
refused by FastAPI's validation as a 400 naming the field and the allowed values, before any handler runs.

`Literal[some_tuple]` is `Literal["a", "b", ...]` at run time, which is what FastAPI and pydantic read; static type
checkers do not accept a variable there, hence the `type: ignore` on each line.
"""

from __future__ import annotations

from typing import Literal

from catalog import access_requests, classifications, datasets, descriptions, lineage_graph, review, search, stewardship
from catalog.drift_watch import DRIFT_STATUSES

SearchMode = Literal[search.MODES]  # type: ignore[valid-type]
DatasetKind = Literal[datasets.DATASET_KINDS]  # type: ignore[valid-type]
DatasetOrder = Literal[datasets.ORDERS]  # type: ignore[valid-type]
LabelDecisionValue = Literal[tuple(classifications.DECISIONS)]  # type: ignore[valid-type]
LabelStatusFilter = Literal[(*classifications.STATUSES, "all")]  # type: ignore[valid-type]
DescriptionDecisionValue = Literal[descriptions.DECISIONS]  # type: ignore[valid-type]
StewardshipAction = Literal[stewardship.ACTIONS]  # type: ignore[valid-type]
RequestablePermission = Literal[access_requests.REQUESTABLE]  # type: ignore[valid-type]
RequestDecision = Literal[tuple(access_requests.DECISIONS)]  # type: ignore[valid-type]
RequestStatus = Literal[access_requests.STATUSES]  # type: ignore[valid-type]
ReviewFormat = Literal["json", "csv"]
DriftStatus = Literal[DRIFT_STATUSES]  # type: ignore[valid-type]
Direction = Literal[lineage_graph.DIRECTIONS]  # type: ignore[valid-type]
ReviewKind = Literal[review.KINDS]  # type: ignore[valid-type]
ReviewItemKind = Literal[review.ITEM_KINDS]  # type: ignore[valid-type]
ReviewDecision = Literal[review.DECISIONS]  # type: ignore[valid-type]
