"""The CLI through typer's test runner: JSON output, one-line errors, exit codes, no secrets printed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CATALOG_HOME", str(tmp_path / "cli-home"))
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def errors(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_init_is_idempotent_and_json(cli: CliRunner, tmp_path: Path) -> None:
    first = json.loads(run(cli, "init", "--json"))
    second = json.loads(run(cli, "init", "--json"))
    assert first == second and first["ready"] is True
    assert (tmp_path / "cli-home" / "catalog.db").exists()


def test_add_crawl_list_show(cli: CliRunner, sqlite_source: Path) -> None:
    run(cli, "source", "add", "shop", f"sqlite:///{sqlite_source}")
    crawl = json.loads(run(cli, "crawl", "--json"))
    assert crawl["crawls"][0]["new"] == 4 and crawl["crawls"][0]["status"] == "succeeded"
    sources = json.loads(run(cli, "source", "list", "--json"))["sources"]
    assert sources[0]["name"] == "shop" and sources[0]["datasets"] == 4
    listing = json.loads(run(cli, "datasets", "--kind", "view", "--json"))
    assert [d["name"] for d in listing["datasets"]] == ["shop/main/v_orders"]
    shown = json.loads(run(cli, "show", "shop/main/customers", "--json"))
    assert shown["name"] == "shop/main/customers" and shown["source"] == "shop"
    column = shown["columns"][1]
    assert {"name", "type", "description", "description_source", "classifications"} <= column.keys()
    assert column["description"] == "customer email" and column["description_source"] == "source"
    human = run(cli, "show", "shop/main/customers")
    assert "c_eml" in human and "customer email" in human


def test_plain_password_is_refused_and_references_are_kept(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    line = errors(cli, "source", "add", "pg", "postgresql://app:hunter2@db.internal/shop")
    assert "plain-text password" in line and "hunter2" not in line
    run(cli, "source", "add", "pg", "postgresql://app:${SHOP_PW}@127.0.0.1:1/shop")
    out = run(cli, "source", "list", "--json")
    assert "${SHOP_PW}" in out
    monkeypatch.setenv("SHOP_PW", "s3cr3t-value")
    result = cli.invoke(app, ["crawl", "pg", "--json"])
    assert result.exit_code == 1
    assert "s3cr3t-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(("url", "expected"), [
    ("nosuchdialect://x/y", "unknown SQL dialect 'nosuchdialect'"),
    ("mssql+pyodbc://u@host/db", "the driver for 'mssql+pyodbc' is not installed"),
    ("postgresql://postgres@127.0.0.1:1/test", "cannot connect"),
])
def test_unusable_sources_fail_with_one_line(cli: CliRunner, url: str, expected: str) -> None:
    run(cli, "source", "add", "bad", url, "--option", "connect_timeout=3")
    line = errors(cli, "crawl", "bad")
    assert line.startswith("error: source 'bad': ") and expected in line


def test_unknown_names_and_bad_arguments(cli: CliRunner) -> None:
    assert errors(cli, "show", "nope/x") == "error: dataset 'nope/x' does not exist"
    assert errors(cli, "crawl", "ghost") == "error: source 'ghost' does not exist"
    assert "KEY=VALUE" in errors(cli, "source", "add", "x", "sqlite:///x.db", "--option", "novalue")
    assert "invalid" in errors(cli, "source", "add", "bad/name", "sqlite:///x.db")
    assert "kind 'nonsense'" in errors(cli, "datasets", "--kind", "nonsense")


def test_remove_needs_confirmation_when_datasets_exist(cli: CliRunner, sqlite_source: Path) -> None:
    run(cli, "source", "add", "shop", f"sqlite:///{sqlite_source}")
    run(cli, "crawl")
    assert "--yes" in errors(cli, "source", "remove", "shop")
    run(cli, "source", "remove", "shop", "--yes")
    assert json.loads(run(cli, "source", "list", "--json")) == {"sources": []}


def test_serve_refuses_remote_host_in_embedded_mode(cli: CliRunner) -> None:
    assert "refusing to serve" in errors(cli, "serve", "--host", "0.0.0.0")


def test_demo_builds_and_crawls_without_serving(cli: CliRunner) -> None:
    result = json.loads(run(cli, "demo", "--no-serve", "--json"))
    crawls = {c["source"]: c for c in result["crawls"]}
    assert set(crawls) == {"shop", "docs", "lake"}
    assert all(c["status"] == "succeeded" and not c["warnings"] for c in crawls.values()), crawls
    assert crawls["shop"]["new"] >= 10 and crawls["docs"]["new"] == 3 and crawls["lake"]["new"] == 7
    annotated = result["annotate"]
    assert annotated["failed"] == 0 and annotated["profiled"] >= 15, annotated
    shown = json.loads(run(cli, "show", "shop/main/customers", "--json"))
    labels = {c["name"]: c["classifications"] for c in shown["columns"]}
    assert labels["c_eml"] == ["pii.email"] and labels["email_verified"] == []
    email = next(c["profile"] for c in shown["columns"] if c["name"] == "c_eml")
    assert email["masked"] and all(re.fullmatch(r"\w\*\*\*@\w\*\*\*\.\w+", e) for e in email["examples"]), email
    products = json.loads(run(cli, "show", "docs/shop/products", "--json"))
    names = {c["name"] for c in products["columns"]}
    assert {"specs.dims.h_cm", "specs.ip\\.rating", "tags[]", "variants[].sku"} <= names  # literal dot escaped
    orders = json.loads(run(cli, "show", "lake/sales/orders", "--json"))
    assert orders["properties"]["partitioning"]["keys"] == ["year", "month"]
    assert orders["row_estimate"] == 3000 and orders["stats"]["files"] == orders["stats"]["partitions"] > 12
    images = json.loads(run(cli, "show", "lake/images", "--json"))
    assert images["kind"] == "file_set" and images["stats"]["images"]["sampled"] > 0
    second = json.loads(run(cli, "demo", "--no-serve", "--json"))
    again = {c["source"]: c for c in second["crawls"]}
    assert all(again[s]["new"] == 0 and again[s]["unchanged"] == crawls[s]["new"] for s in crawls), again
    assert second["annotate"]["datasets"] == 0, "nothing changed, nothing to annotate"
    assert [c["status"] for c in result["lineage"]["checked"]] == ["no_retrain_needed"]
    assert second["lineage"]["checked"] == [] and second["lineage"]["skipped_unchanged"] == 1
    roles = {u["name"]: u["role"] for u in second["users"]}
    assert roles == {"analyst": "analyst", "publisher": "publisher", "reviewer": "steward", "admin": "admin"}
    assert {u["password"] for u in second["users"]}.isdisjoint(u["password"] for u in result["users"])
    model = json.loads(run(cli, "model", "order-value", "--json"))
    assert model["run"]["inputs"][0]["dataset"] == "analytics/order_features"
    assert model["drift"]["inputs"][0]["compared"] == "v1 → v2"
    assert result["index"]["indexed"] > 200 and second["index"]["indexed"] == 0
    found = json.loads(run(cli, "search", "customer email", "--json"))["results"]
    assert any(r["column"] == "c_eml" for r in found[:5]), found


def test_relative_sqlite_path_is_stored_absolute(cli: CliRunner, sqlite_source: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sqlite_source.parent)
    run(cli, "source", "add", "rel", f"sqlite:///{sqlite_source.name}")
    monkeypatch.chdir("/")
    assert json.loads(run(cli, "crawl", "rel", "--json"))["crawls"][0]["new"] == 4


def test_annotate_and_review_labels(cli: CliRunner, sqlite_source: Path) -> None:
    run(cli, "source", "add", "shop", f"sqlite:///{sqlite_source}")
    run(cli, "crawl", "shop")
    result = json.loads(run(cli, "annotate", "--json", "--sample-rows", "50"))
    assert result["datasets"] == 4 and result["failed"] == 0
    assert json.loads(run(cli, "annotate", "--json"))["datasets"] == 0
    assert json.loads(run(cli, "annotate", "shop", "--all", "--json"))["datasets"] == 4
    confirmed = json.loads(run(cli, "label", "confirm", "shop/main/customers", "Straße", "pii.street_address",
                               "--comment", "people", "--json"))
    assert confirmed["status"] == "confirmed" and confirmed["comment"] == "people"
    listed = json.loads(run(cli, "label", "list", "--status", "confirmed", "--json"))["labels"]
    assert [(v["dataset"], v["column"]) for v in listed] == [("shop/main/customers", "Straße")]
    assert "pii.street_address" in run(cli, "show", "shop/main/customers")
    assert "label 'Bad Label'" in errors(cli, "label", "confirm", "shop/main/customers", "Straße", "Bad Label")
    assert "column 'ghost'" in errors(cli, "label", "reject", "shop/main/customers", "ghost", "pii.email")
    assert "source 'nope'" in errors(cli, "annotate", "nope")


def test_refresh_crawls_annotates_and_indexes_what_changed(cli: CliRunner, sqlite_source: Path) -> None:
    run(cli, "source", "add", "shop", f"sqlite:///{sqlite_source}")
    first = json.loads(run(cli, "refresh", "--json"))
    assert first["crawls"][0]["new"] == 4 and first["annotate"]["datasets"] == 4
    again = json.loads(run(cli, "refresh", "shop", "--json"))
    assert again["crawls"][0]["unchanged"] == 4 and again["annotate"]["datasets"] == 0
    assert first["index"]["indexed"] > 0 and again["index"]["indexed"] == 0


def _command_paths() -> list[list[str]]:
    """Every leaf command of the CLI, as the words that name it (`["source", "add"]`)."""
    from typer.main import get_command

    from catalog.cli import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if not children:
            found.append(path)
            return
        for name, child in children.items():
            walk(child, [*path, name])

    walk(get_command(app), [])
    return found


def test_every_command_given_a_wrong_option_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from catalog.cli import main

    paths = _command_paths()
    assert len(paths) > 30 and ["source", "add"] in paths and ["publish"] in paths
    for path in paths:
        with pytest.raises(SystemExit) as exited:
            main([*path, "--no-such-option"])
        out, err = capsys.readouterr()
        assert exited.value.code == 2, path
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "No such option: --no-such-option" in lines[0], (path, err)
        assert lines[0].startswith(f"error: catalog {' '.join(path)}:") and out == "", path


def test_missing_arguments_bad_values_and_unknown_commands_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from catalog.cli import main

    for argv, expected in ((["show"], "Missing argument 'dataset'"), (["search", "x", "--limit", "abc"],
                                                                     "Invalid value for '--limit'"),
                           (["no-such-command"], "No such command 'no-such-command'")):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert exited.value.code == 2 and len(err.splitlines()) == 1 and expected in err, (argv, err)
    with pytest.raises(SystemExit) as exited:
        main(["source"])
    assert exited.value.code == 0 and "Usage: catalog source" in capsys.readouterr().out
