"""diff_parquet on small generated Parquet files: schema changes, drift levels, edge cases and no data values out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog import version_diff
from catalog.version_diff import JS_MAJOR, PSI_MAJOR, diff_parquet

ROWS = 5_000
SECRET = "Zebulon-Quartermaine-7731"


def _write(path: Path, columns: dict[str, pa.Array | list | np.ndarray], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def _base_columns(seed: int, rows: int = ROWS) -> dict[str, pa.Array | np.ndarray]:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "ms").astype(np.int64)
    return {
        "amount": rng.normal(100.0, 20.0, rows),
        "qty": rng.poisson(3, rows).astype(np.int32),
        "segment": np.array(["north", "south", "east", "west"])[rng.choice(4, rows)],
        "active": rng.random(rows) < 0.5,
        "event_at": pa.array(start + rng.integers(0, 86_400_000 * 365, rows), pa.timestamp("ms")),
    }


def _by_column(result: dict) -> dict[str, dict]:
    return {entry["column"]: entry for entry in result["drift"]}


def test_identical_files_show_no_drift(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.parquet", _base_columns(1))
    new = _write(tmp_path / "new.parquet", _base_columns(1))
    result = diff_parquet(old, new)
    assert result["schema"] == {"added": [], "removed": [], "type_changed": [], "unchanged": 5}
    assert result["rows"] == {"old": ROWS, "new": ROWS, "change": 0, "change_pct": 0.0}
    assert result["sampled"] is False
    drift = _by_column(result)
    assert {c: e["kind"] for c, e in drift.items()} == {"amount": "numeric", "qty": "numeric", "segment": "categorical",
                                                       "active": "categorical", "event_at": "temporal"}
    for entry in drift.values():
        assert entry["level"] == "none", entry
        assert entry["psi"] in (None, 0.0) and entry["js"] in (None, 0.0)
    assert drift["amount"]["method"] == "psi+ks" and drift["amount"]["ks"] == 0.0
    assert drift["amount"]["ks_pvalue"] == pytest.approx(1.0)
    assert drift["segment"]["method"] == "js+chi2" and drift["segment"]["chi2_pvalue"] == pytest.approx(1.0)
    json.dumps(result, allow_nan=False)


def test_same_distribution_different_draw_stays_none(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.parquet", _base_columns(1))
    new = _write(tmp_path / "new.parquet", _base_columns(2))
    assert {e["level"] for e in diff_parquet(old, new)["drift"]} == {"none"}


def test_shifted_numeric_column_is_major(tmp_path: Path) -> None:
    shifted = _base_columns(2)
    shifted["amount"] = shifted["amount"] + 30.0  # 1.5 standard deviations
    result = diff_parquet(_write(tmp_path / "old.parquet", _base_columns(1)), _write(tmp_path / "new.parquet", shifted))
    amount = _by_column(result)["amount"]
    assert amount["psi"] >= PSI_MAJOR and amount["level"] == "major"
    assert amount["ks"] > 0.4 and amount["ks_pvalue"] < 1e-6
    assert _by_column(result)["qty"]["level"] == "none"


def test_shifted_constant_column_is_major(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.parquet", {"rate": np.full(ROWS, 5.0)})
    new = _write(tmp_path / "new.parquet", {"rate": np.full(ROWS, 6.0)})
    assert _by_column(diff_parquet(old, old))["rate"]["psi"] == 0.0
    assert _by_column(diff_parquet(old, new))["rate"]["level"] == "major"


def test_changed_category_mix_exceeds_js_threshold(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    mixed = _base_columns(2)
    mixed["segment"] = np.array(["north", "south", "east", "west"])[rng.choice(4, ROWS, p=[0.7, 0.1, 0.1, 0.1])]
    mixed["active"] = rng.random(ROWS) < 0.9
    result = diff_parquet(_write(tmp_path / "old.parquet", _base_columns(1)), _write(tmp_path / "new.parquet", mixed))
    drift = _by_column(result)
    assert drift["segment"]["js"] > JS_MAJOR and drift["segment"]["level"] == "major"
    assert drift["segment"]["chi2_pvalue"] < 1e-6
    assert drift["active"]["level"] == "major"


def test_new_category_value_counts_as_drift(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.parquet", {"code": ["a", "b"] * 2_000})
    new = _write(tmp_path / "new.parquet", {"code": ["a", "b", "c", "c"] * 1_000})
    assert _by_column(diff_parquet(old, new))["code"]["level"] == "major"


def test_schema_changes_are_reported(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.parquet", {"keep": [1, 2, 3], "gone": ["x", "y", "z"], "retyped": [1, 2, 3],
                                            "widened": pa.array([1, 2, 3], pa.int32())})
    new = _write(tmp_path / "new.parquet", {"keep": [1, 2, 4], "retyped": ["1", "2", "3"],
                                            "widened": pa.array([1, 2, 3], pa.int64()), "fresh": [0.5, 1.5, 2.5]})
    result = diff_parquet(old, new)
    assert result["schema"] == {
        "added": [{"name": "fresh", "type": "double"}],
        "removed": [{"name": "gone", "type": "string"}],
        "type_changed": [{"name": "retyped", "old": "int64", "new": "string"},
                         {"name": "widened", "old": "int32", "new": "int64"}],
        "unchanged": 1,
    }
    drift = _by_column(result)
    assert list(drift) == ["keep", "retyped", "widened"]
    assert drift["retyped"]["kind"] == "skipped" and "numeric to categorical" in drift["retyped"]["note"]
    assert drift["widened"]["kind"] == "numeric" and drift["widened"]["psi"] == 0.0
    assert "type changed" in drift["widened"]["note"]


def test_timestamp_unit_change_compares_instants(tmp_path: Path) -> None:
    ms = _base_columns(1)["event_at"]
    old = _write(tmp_path / "old.parquet", {"event_at": ms})
    new = _write(tmp_path / "new.parquet", {"event_at": ms.cast(pa.timestamp("us"))})
    entry = _by_column(diff_parquet(old, new))["event_at"]
    assert entry["kind"] == "temporal" and entry["psi"] == 0.0 and entry["ks"] == 0.0


@pytest.mark.parametrize("old_rows,new_rows", [(0, 0), (0, 100), (100, 0)])
def test_empty_tables_are_handled(tmp_path: Path, old_rows: int, new_rows: int) -> None:
    old = _write(tmp_path / "old.parquet", _base_columns(1, old_rows))
    new = _write(tmp_path / "new.parquet", _base_columns(2, new_rows))
    result = diff_parquet(old, new)
    assert result["rows"]["change"] == new_rows - old_rows
    assert result["rows"]["change_pct"] is None if old_rows == 0 else result["rows"]["change_pct"] == -100.0
    for entry in result["drift"]:
        assert entry["level"] == "none" and entry["psi"] is None and entry["js"] is None
        assert "has no rows" in entry["note"]
    json.dumps(result, allow_nan=False)


def test_all_null_columns(tmp_path: Path) -> None:
    nulls = pa.nulls(ROWS, pa.float64())
    old = _write(tmp_path / "old.parquet", {"x": nulls, "s": pa.nulls(ROWS, pa.string()), "untyped": pa.nulls(ROWS),
                                            "y": np.arange(ROWS, dtype=np.float64)})
    new = _write(tmp_path / "new.parquet", {"x": nulls, "s": pa.nulls(ROWS, pa.string()),
                                            "untyped": np.arange(ROWS, dtype=np.float64), "y": nulls})
    drift = _by_column(diff_parquet(old, new))
    assert drift["x"]["null_share_old"] == 1.0 and drift["x"]["psi"] == 0.0 and drift["x"]["ks"] is None
    assert drift["x"]["level"] == "none" and "no non-missing values" in drift["x"]["note"]
    assert drift["s"]["js"] == 0.0 and drift["s"]["level"] == "none" and "no non-missing" in drift["s"]["note"]
    assert drift["untyped"]["kind"] == "numeric" and drift["untyped"]["level"] == "major"
    assert drift["y"]["null_share_new"] == 1.0 and drift["y"]["level"] == "major"


def test_other_scalar_types_are_compared(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    days = pa.array(rng.integers(19_000, 19_365, ROWS), pa.int32())
    columns = {"price": pa.array(rng.integers(0, 10_000, ROWS), pa.int32()).cast(pa.decimal128(12, 2)),
               "day": days.cast(pa.date32()), "at": days.cast(pa.time32("s")),
               "code": pa.array(rng.integers(0, 5, ROWS)).dictionary_encode(),
               "city": pa.array(rng.choice(["a", "b"], ROWS), pa.large_string())}
    path = _write(tmp_path / "data.parquet", columns)
    drift = _by_column(diff_parquet(path, path))
    assert {c: e["kind"] for c, e in drift.items()} == {"price": "numeric", "day": "temporal", "at": "temporal",
                                                       "code": "numeric", "city": "categorical"}
    assert all(e["level"] == "none" and e["note"] is None for e in drift.values())


def test_nan_counts_as_missing(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    old = _write(tmp_path / "old.parquet", {"x": rng.random(ROWS)})
    new = _write(tmp_path / "new.parquet", {"x": np.where(rng.random(ROWS) < 0.2, np.nan, rng.random(ROWS))})
    entry = _by_column(diff_parquet(old, new))["x"]
    assert entry["level"] == "major" and entry["null_share_new"] == 0.0 and "NaN" in entry["note"]


def test_nested_and_binary_columns_are_skipped(tmp_path: Path) -> None:
    columns = {"tags": pa.array([["a"], None, ["b", "c"]]), "blob": pa.array([b"\x00", None, b"\x01"]),
               "point": pa.array([{"x": 1}, {"x": 2}, None])}
    result = diff_parquet(_write(tmp_path / "old.parquet", columns), _write(tmp_path / "new.parquet", columns))
    for entry in result["drift"]:
        assert entry["kind"] == "skipped" and entry["method"] == "none" and "not compared" in entry["note"]
        assert entry["null_share_old"] == pytest.approx(1 / 3, abs=1e-5)


def test_no_data_value_in_result(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    values = np.where(rng.random(ROWS) < 0.3, SECRET, "common")
    old = _write(tmp_path / "old.parquet", {"name": values, "label": pa.array(values).dictionary_encode(),
                                            "retyped": values, "amount": np.full(ROWS, 987654.321)})
    new = _write(tmp_path / "new.parquet", {"name": values[::-1], "label": values, "retyped": np.arange(ROWS),
                                            "amount": np.full(ROWS, 123456.789)})
    text = json.dumps(diff_parquet(old, new, sample_rows=1_000), allow_nan=False)
    for secret in (SECRET, "common", "987654", "123456"):
        assert secret not in text


def test_sampling_is_uniform_and_deterministic(tmp_path: Path) -> None:
    columns = _base_columns(1, 20_000)
    old = _write(tmp_path / "old.parquet", columns, row_group_size=3_000)
    new = _write(tmp_path / "new.parquet", _base_columns(2, 30_000), row_group_size=7_000)
    first = diff_parquet(old, new, sample_rows=4_000, workers=1)
    assert first == diff_parquet(old, new, sample_rows=4_000, workers=2)
    assert first["sampled"] is True and "4000 of 20000" in first["method_note"]
    assert first["rows"] == {"old": 20_000, "new": 30_000, "change": 10_000, "change_pct": 50.0}
    assert {e["level"] for e in first["drift"]} == {"none"}
    assert diff_parquet(old, new, sample_rows=30_000)["sampled"] is False


def test_sampled_read_returns_exactly_the_sampled_rows(tmp_path: Path) -> None:
    amounts = np.arange(10_000, dtype=np.float64)
    path = _write(tmp_path / "data.parquet", {"amount": amounts}, row_group_size=999)
    version = version_diff._open_version(path, 1_234)
    read = version_diff._read_column(version, "amount", pa.float64()).to_numpy()
    assert version.positions is not None and len(version.positions) == 1_234
    assert np.array_equal(read, amounts[version.positions])


def test_rejects_non_positive_sample(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.parquet", {"a": [1]})
    with pytest.raises(ValueError):
        diff_parquet(path, path, sample_rows=0)
