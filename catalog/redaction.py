"""Redaction recipes: a declared, reviewable, repeatable way to turn a raw table into a publishable one.

A recipe names one rule per column; `validate` checks it against the source's Arrow schema (and that the HMAC key
is there) before anything is read, and a `Redactor` applies it batch by batch, so memory holds one batch whatever
the table's size. `suggest_recipe` proposes a recipe from the catalog's PII labels for a person to review, and
`recipe_hash` identifies a recipe's effect, so a published version can record exactly how it was derived.

## The recipe (JSON or YAML; the same shape either way)

    version: 1                    # required; the only version so far
    default: drop                 # required: keep | drop, the rule for every column not named below.
                                  #   drop keeps columns added to the source later out until someone reviews them.
    key_env: CATALOG_REDACTION_KEY  # optional: environment variable holding the HMAC key (this is the default)
    key_file: /run/secrets/redact   # optional, instead of key_env: a file holding the key (trailing newline ignored)
    columns:                      # required (may be empty): column name -> rule
      id:       keep              # a bare rule name is short for {rule: NAME} (rules without options)
      ssn:      drop
      c_eml:    {rule: hash}                          # length: 16-64 hex characters (default 64)
      cust_no:  {rule: tokenize, prefix: cust_}       # prefix: 0-16 of [A-Za-z0-9_-] (default tok_)
      phone:    {rule: mask, keep_last: 2}            # keep_first, keep_last: 0-32 (default 0); char (default *)
      birth_dt: {rule: generalise, to: year}          # format: strptime pattern, required for text columns
      dob:      {rule: generalise, to: age_band, reference_date: 2024-01-01, band: 10, top: 90}
      postcode: {rule: generalise, to: prefix, length: 3}
      salary:   {rule: generalise, to: bucket, width: 10000}
      lat:      {rule: generalise, to: grid, round_to: 0.1}
      notes:    {rule: scrub}                         # find: any of [email, phone, card] (default all three)

Any rule may carry `why:` (free text for reviewers; `suggest_recipe` writes one). `generalize` is accepted for
`generalise`. Unknown keys, rules, options or targets are errors, never ignored: a typo must not leak a column.

## Rules, the types they take and what they produce
- keep: any type, unchanged. drop: any type, the column is left out.
- mask (text, integers as decimal text) -> string of the same length: all but the first/last N characters become
  `char`; a value shorter than twice the kept characters is masked entirely.
- hash (text, binary, integer, decimal, date) -> string: lower-case hex of HMAC-SHA256 with the recipe's key, cut to
  `length`. Equal inputs give equal outputs in every batch, dataset and publish with the same key, so joins on a
  hashed key still match; without the key the input cannot be recovered or confirmed by guessing.
- tokenize (same types) -> string `prefix` + 20 hex characters of an HMAC under a key derived from the recipe's
  key. Stable across publishes and batches without storing a mapping: a counter would need a value -> id table,
  which is itself the personal data, kept forever and shared by every publisher. Joins work as with hash.
- generalise to year (date, timestamp, text with `format`) -> int32; to age_band -> string (`30-39`, `90+`),
  completed years at the fixed `reference_date`, so republishing the same data gives the same version; to prefix
  (text) -> string of the first `length` characters (trimmed); to bucket (integer, float, decimal) -> the bucket's
  lower edge, int64 for integers with a whole width, else float64; to grid (float, decimal) -> float64 rounded to a
  multiple of `round_to`. Text that does not parse with `format`, and ages below zero, become null.
- scrub (text) -> string with e-mails, phones and card numbers inside replaced by `[email]`, `[phone]`, `[card]`
  (see `catalog.redaction_text` for what is found and what stays).
Nulls stay null under every rule. Output columns keep the source's order, names and field metadata (schema-level
metadata, such as pandas', is not carried over); the same data, recipe and key always give the same output.

## The key
32 random bytes are plenty (`openssl rand -hex 32`; the text is the key, as written). It is read from the
environment or the file when publishing, used in memory and never stored, logged or printed; `key_fingerprint` gives
a value a version may record to show which key was used without revealing it.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import yaml

from catalog import redaction_rules as rules
from catalog.errors import CatalogError, InvalidInput
from catalog.redaction_rules import DEFAULT_KEY_ENV, DROP, GENERALISE, HASH, KEEP, RULES, TOKENIZE, suggest_recipe

VERSION = 1
MIN_KEY_BYTES = 16
MAX_RECIPE_CHARS = 1_000_000
MAX_WHY = 1000
MAX_PROBLEMS = 20
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = ("version", "default", "columns", "key_env", "key_file")

__all__ = ["Recipe", "Redactor", "Rule", "apply", "key_fingerprint", "load_key", "load_recipe", "output_schema",
           "parse_recipe", "recipe_hash", "redact_stream", "suggest_recipe", "validate"]


@dataclass(frozen=True)
class Rule:
    """One column's rule with its options validated and defaults filled in (read-only)."""

    kind: str
    options: Mapping[str, Any]
    why: str | None = None

    def as_dict(self, with_why: bool = True) -> dict[str, Any]:
        found: dict[str, Any] = {"rule": self.kind}
        found.update((name, list(v) if isinstance(v, tuple) else v) for name, v in self.options.items())
        if with_why and self.why:
            found["why"] = self.why
        return found


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe (see the module docstring); build it with `load_recipe` or `parse_recipe`."""

    default: str
    columns: Mapping[str, Rule]
    key_env: str | None = None
    key_file: str | None = None
    version: int = VERSION

    def rule_for(self, column: str) -> Rule:
        return self.columns.get(column) or Rule(self.default, MappingProxyType({}))

    @property
    def needs_key(self) -> bool:
        return any(rule.kind in (HASH, TOKENIZE) for rule in self.columns.values())

    def as_dict(self, with_why: bool = True) -> dict[str, Any]:
        """The canonical form (every default spelled out), ready to dump as JSON or YAML."""
        found: dict[str, Any] = {"version": self.version, "default": self.default}
        if self.key_file:
            found["key_file"] = self.key_file
        else:
            found["key_env"] = self.key_env or DEFAULT_KEY_ENV
        found["columns"] = {name: rule.as_dict(with_why) for name, rule in self.columns.items()}
        return found


def _quote(name: str) -> str:
    """A column name as error messages show it: JSON-quoted (quotes and control characters escaped), cut short."""
    return json.dumps(name if len(name) <= 120 else name[:119] + "…", ensure_ascii=False)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# ---------------------------------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice: YAML would keep the last silently, and a recipe naming a column
    twice (hash, then keep further down) must not be read as whichever came last."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {_shown(key)} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise InvalidInput(f"redaction recipe: key {_quote(key)} appears twice")
        found[key] = value
    return found


def load_recipe(text: str, fmt: str | None = None) -> Recipe:
    """Parse recipe text: `fmt` is "json" or "yaml"; None reads JSON when the text starts with `{`, else YAML."""
    if len(text) > MAX_RECIPE_CHARS:
        raise InvalidInput(f"redaction recipe is longer than {MAX_RECIPE_CHARS} characters")
    if fmt not in (None, "json", "yaml", "yml"):
        raise InvalidInput(f"redaction recipe format {_shown(fmt)} is not json or yaml")
    as_json = fmt == "json" or (fmt is None and text.lstrip().startswith("{"))
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates) if as_json else yaml.load(text, _UniqueKeyLoader)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"redaction recipe is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"redaction recipe is not valid YAML: {_yaml_problem(exc)}") from None
    return parse_recipe(data)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(exc).splitlines()[0][:200]


def parse_recipe(data: Any) -> Recipe:
    """A `Recipe` from already parsed JSON/YAML data (what an API body holds); every problem is named at once."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise InvalidInput("redaction recipe must be a mapping with version, default and columns")
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"unknown key {_shown(key)} (known: {', '.join(_TOP_KEYS)})")
    _check_top(data, problems)
    columns: dict[str, Rule] = {}
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, Mapping):
        problems.append("`columns` must be a mapping of column name -> rule (it may be empty: {})")
        raw_columns = {}
    for name, raw in raw_columns.items():
        if not isinstance(name, str):
            problems.append(f"column name {_shown(name)} must be text: quote it in YAML (\"{name}\": ...)")
            continue
        rule = _parse_rule(name, raw, problems)
        if rule is not None:
            columns[name] = rule
    _raise_problems(problems)
    key_env = data.get("key_env")
    return Recipe(default=data["default"], columns=MappingProxyType(columns), key_file=data.get("key_file"),
                  key_env=None if data.get("key_file") else key_env or DEFAULT_KEY_ENV)


def _check_top(data: Mapping[str, Any], problems: list[str]) -> None:
    version = data.get("version")
    if version is None:
        problems.append("`version` is missing (write version: 1)")
    elif version != VERSION or isinstance(version, bool):
        problems.append(f"`version` {_shown(version)} is not supported (only {VERSION})")
    default = data.get("default")
    if default is None:
        problems.append("`default` is missing: say keep or drop for columns the recipe does not name (drop keeps "
                        "columns added to the source later out of published versions until someone reviews them)")
    elif default not in (KEEP, DROP):
        problems.append(f"`default` must be keep or drop, not {_shown(default)}")
    key_env, key_file = data.get("key_env"), data.get("key_file")
    if key_env is not None and key_file is not None:
        problems.append("give either key_env or key_file, not both")
    if key_env is not None and (not isinstance(key_env, str) or not _ENV_NAME.match(key_env)):
        problems.append(f"key_env {_shown(key_env)} is not an environment variable name")
    if key_file is not None and (not isinstance(key_file, str) or not key_file.strip()):
        problems.append("key_file must be a file path")


def _raise_problems(problems: list[str]) -> None:
    if not problems:
        return
    more = len(problems) - MAX_PROBLEMS
    text = "; ".join(problems[:MAX_PROBLEMS]) + (f"; and {more} more" if more > 0 else "")
    raise InvalidInput(f"redaction recipe: {text}")


def _parse_rule(name: str, raw: Any, problems: list[str]) -> Rule | None:
    where = f"column {_quote(name)}"
    spec = {"rule": raw} if isinstance(raw, str) else raw
    if not isinstance(spec, Mapping) or "rule" not in spec:
        problems.append(f"{where}: give a rule ({', '.join(RULES)}), e.g. {{rule: drop}}")
        return None
    kind = "generalise" if spec["rule"] == "generalize" else spec["rule"]
    if kind not in RULES:
        problems.append(f"{where}: unknown rule {_shown(spec['rule'])} (known: {', '.join(RULES)})")
        return None
    why = spec.get("why")
    if why is not None and (not isinstance(why, str) or len(why) > MAX_WHY):
        problems.append(f"{where}: `why` must be text of at most {MAX_WHY} characters")
        why = None
    given = {k: v for k, v in spec.items() if k not in ("rule", "why")}
    options = rules.parse_options(where, kind, given, problems)
    return None if options is None else Rule(kind, MappingProxyType(options), why)


# ------------------------------------------------------------------------------------------------- validation


def validate(recipe: Recipe, schema: pa.Schema, environ: Mapping[str, str] = os.environ) -> None:
    """Check a recipe against the source's schema and the key's presence before anything is read; one
    `InvalidInput` names every problem (column and what is wrong), never the key."""
    problems = _schema_problems(recipe, schema)
    if recipe.needs_key:
        problem = _read_key(recipe, environ)[1]
        if problem:
            problems.append(problem)
    _raise_problems(problems)


def _schema_problems(recipe: Recipe, schema: pa.Schema) -> list[str]:
    names = schema.names
    problems = [f"column {_quote(name)} appears more than once in the source; rename one first"
                for name, count in sorted(Counter(names).items()) if count > 1]
    fields = {field.name: field for field in reversed(list(schema))}
    for name, rule in recipe.columns.items():
        field = fields.get(name)
        if field is None:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {_quote(close[0])}?)" if close else ""
            problems.append(f"column {_quote(name)} does not exist in the source{hint}")
            continue
        problem = rules.fit_problem(rule.kind, rule.options, field.type)
        if problem:
            problems.append(f"column {_quote(name)}: {problem}")
    if names and all(recipe.rule_for(name).kind == DROP for name in names):
        problems.append("every column is dropped: a version needs at least one")
    return problems


def load_key(recipe: Recipe, environ: Mapping[str, str] = os.environ) -> bytes:
    """The HMAC key the recipe names (environment variable or file); `InvalidInput` names where it was looked
    for when it is missing or too short."""
    key, problem = _read_key(recipe, environ)
    if problem:
        raise InvalidInput(f"redaction recipe: {problem}")
    return key


def _read_key(recipe: Recipe, environ: Mapping[str, str]) -> tuple[bytes, str | None]:
    if recipe.key_file:
        where = f"key file {recipe.key_file}"
        path = Path(recipe.key_file).expanduser()
        try:
            if path.stat().st_size > 4096:
                return b"", f"{where} is over 4 KiB: it does not look like a key"
            key = path.read_bytes().rstrip(b"\r\n")
        except FileNotFoundError:
            return b"", f"hash and tokenize rules need an HMAC key: {where} does not exist"
        except OSError as exc:
            return b"", f"cannot read the HMAC key from {where}: {exc.strerror}"
    else:
        name = recipe.key_env or DEFAULT_KEY_ENV
        where = f"environment variable {name}"
        value = environ.get(name)
        if not value:
            return b"", (f"hash and tokenize rules need an HMAC key: {where} is not set "
                         f"(for example: export {name}=$(openssl rand -hex 32))")
        key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        return b"", f"the HMAC key in {where} is {len(key)} bytes long; it needs at least {MIN_KEY_BYTES}"
    return key, None


def key_fingerprint(key: bytes) -> str:
    """16 hex characters that identify a key without revealing it (an HMAC of a fixed text under the key), so a
    version can record which key its hashes were made with and a reviewer can tell when it changed."""
    return hmac.digest(key, b"catalog.redaction.key-id/v1", "sha256")[:8].hex()


def recipe_hash(recipe: Recipe) -> str:
    """sha256 of the canonical JSON of the recipe (defaults spelled out, keys sorted, `why` left out): two recipes
    with the same effect have the same hash, however they were written."""
    canonical = json.dumps(recipe.as_dict(with_why=False), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------- applying


@dataclass(frozen=True)
class _Step:
    index: int  # position in the source batch
    rule: Rule
    field: pa.Field  # the output field


def _plan(recipe: Recipe, schema: pa.Schema) -> list[_Step]:
    """One step per output column, in source order: dropped columns have none."""
    steps = []
    for index, field in enumerate(schema):
        rule = recipe.rule_for(field.name)
        if rule.kind == DROP:
            continue
        kind = rules.output_type(rule.kind, rule.options, field.type)
        nullable = True if rule.kind == GENERALISE else field.nullable  # unparsed dates and future births: null
        steps.append(_Step(index, rule, pa.field(field.name, kind, nullable, field.metadata)))
    return steps


def output_schema(recipe: Recipe, schema: pa.Schema) -> pa.Schema:
    """The schema `apply` produces for batches of `schema` (what the published version will declare)."""
    _raise_problems(_schema_problems(recipe, schema))
    return pa.schema([step.field for step in _plan(recipe, schema)])


class Redactor:
    """A recipe bound to a source schema and a key: built once per publish (checks done, key states prepared),
    then called once per batch. Memory holds the batch in and the batch out, whatever the table's size."""

    def __init__(self, recipe: Recipe, schema: pa.Schema, key: bytes | None = None) -> None:
        _raise_problems(_schema_problems(recipe, schema))
        if recipe.needs_key and (key is None or len(key) < MIN_KEY_BYTES):
            raise InvalidInput(f"redaction recipe: hash and tokenize rules need an HMAC key of at least "
                               f"{MIN_KEY_BYTES} bytes (see load_key)")
        self.recipe = recipe
        self.input_schema = schema
        self._steps = _plan(recipe, schema)
        self.schema = pa.schema([step.field for step in self._steps])
        self._hasher = rules.Hasher(key) if recipe.needs_key and key else None

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One batch, column after column. (Columns on threads gained nothing measurable on the 2-core development
        machine: Arrow's regex replacement copies every row into a std::string and scaled poorly across threads,
        and hashing holds the GIL. Overlapping reading with redacting, or batches in processes, is the way on.)"""
        batch = self._conform(batch)
        arrays = [batch.column(step.index) if step.rule.kind == KEEP else self._column(batch, step)
                  for step in self._steps]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _column(self, batch: pa.RecordBatch, step: _Step) -> pa.Array:
        try:
            result = rules.transform(step.rule.kind, step.rule.options, batch.column(step.index), self._hasher)
            return result if result.type == step.field.type else result.cast(step.field.type)
        except pa.ArrowException as exc:  # a value the rule cannot take (say an out-of-range number)
            raise CatalogError(f"column {_quote(step.field.name)}: {step.rule.kind} failed: "
                               f"{str(exc).splitlines()[0][:200]}") from None

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Batches must have the columns the recipe was checked against; a type that differs is cast (a reader
        may type an all-null batch differently), or refused when it cannot be."""
        if batch.schema.equals(self.input_schema):
            return batch
        if batch.schema.names != self.input_schema.names:
            raise InvalidInput("a batch's columns differ from the schema the redaction recipe was checked against")
        try:
            return batch.cast(self.input_schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise CatalogError(f"a batch cannot be read as the checked schema: {str(exc).splitlines()[0]}") from None


def apply(recipe: Recipe, batch: pa.RecordBatch, key: bytes | None = None) -> pa.RecordBatch:
    """Redact one batch (for many batches build a `Redactor` once, or use `redact_stream`)."""
    return Redactor(recipe, batch.schema, key)(batch)


def redact_stream(recipe: Recipe, schema: pa.Schema, batches: Iterable[pa.RecordBatch], key: bytes | None = None
                  ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The output schema and the redacted batches, lazily: what `publish_input.stage_batches` takes."""
    redactor = Redactor(recipe, schema, key)
    return redactor.schema, (redactor(batch) for batch in batches)
