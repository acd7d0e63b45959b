"""The demo's lineage: a published feature table in two versions, the runs that made and used it, a model.

Shows what no other catalog does, on the bundled shop: `prepare-order-features` reads the crawled `orders`
table and publishes `analytics/order_features` (without the address and IP columns, so the PII check passes);
`train-order-value` trains a model on v1; v2 adds the later orders; `catalog watch` then says whether the model
needs retraining. Idempotent like the rest of the demo: versions already published are not published again and the
fixed run ids merge into the runs already recorded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa

from catalog.access import Actor
from catalog.db import session_scope
from catalog.lineage import DatasetRef, ModelSpec, RunRecord, record_run
from catalog.publish import PublishOptions, publish
from catalog.settings import Settings

FEATURES = "analytics/order_features"
ORDERS = "shop/main/orders"
COLUMNS = ("ord_id", "cust_id", "ord_dt", "status", "amt_usd", "currency")
QUERY = "SELECT ord_id, cust_id, ord_dt, status, amt_usd, currency FROM orders ORDER BY ord_id"


def _orders(database: Path) -> pa.Table:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(QUERY).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
    return pa.table({name: list(values) for name, values in zip(COLUMNS, columns, strict=True)})


def build_demo_lineage(settings: Settings, actor: Actor, database: Path) -> dict[str, Any]:
    """Publish two versions, record the runs and the model, run the drift watch; returns the watch summary."""
    from catalog.drift_watch import watch

    table = _orders(database)
    early = table.slice(0, table.num_rows * 2 // 3)
    message = "orders without ship_addr and client_ip"
    published = _version_count(settings)
    if published == 0:
        publish(settings, actor, FEATURES, data=early,
                options=PublishOptions(message=f"first two thirds of the {message}"))
    with session_scope(settings) as session:
        record_run(session, actor, RunRecord(
            job_name="prepare-order-features", run_key="demo-prepare-order-features-v1",
            inputs=[DatasetRef(ORDERS, columns=COLUMNS)], outputs=[DatasetRef(FEATURES, "v1")]))
        record_run(session, actor, RunRecord(
            job_name="train-order-value", run_key="demo-train-order-value-1",
            inputs=[DatasetRef(FEATURES, "v1", columns=("amt_usd", "status", "currency"))],
            models=[ModelSpec("order-value", "1", "scikit-learn", {"mae_usd": 18.4},
                              "file:///models/order-value/1.joblib")],
            metrics={"mae_usd": 18.4}, parameters={"estimator": "GradientBoostingRegressor"}))
    if published < 2:
        publish(settings, actor, FEATURES, data=table, options=PublishOptions(message=f"all {message}"))
    return watch(settings, actor)


def _version_count(settings: Settings) -> int:
    """Versions of the demo's feature table already published: a second demo must not publish them again (an
    older state published after a newer one is a new version, a revert)."""
    from sqlalchemy import func, select

    from catalog.models import DatasetVersion, PublishedDataset

    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(DatasetVersion).join(
            PublishedDataset, PublishedDataset.id == DatasetVersion.published_id)
            .where(PublishedDataset.name == FEATURES)) or 0
