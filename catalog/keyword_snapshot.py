"""An immutable, memory-mapped postings snapshot of the keyword index, for BM25 without FTS5's per-row cost.

Why: FTS5 calls bm25() for every row that matches before it sorts, about 2 us a row, so a word present in
100,000 to 1,000,000 documents ("column", "customer") costs 0.2 to 2 s a query. The snapshot holds, per term, the
positions of the documents that contain it and their weighted frequency, so a query is a few numpy passes over
those arrays (`catalog.keyword_bm25`), which reproduce FTS5's bm25 exactly. The FTS5 file stays the source of truth:
the snapshot is derived from its stored terms and can be dropped and rebuilt at any time.

Layout of one generation folder (`<index file>.snapshot/g<generation>/`), every array an .npy file opened with
`np.load(mmap_mode="r")`, so that the web workers of one machine share the same pages:
- `ids` int64 [N]: document ids, ascending (a document's position is its rank here, so position order is id order,
  the order FTS5 visits rows in, which decides ties);
- `lengths` int32 [N]: each document's length in tokens, name and text together, unweighted (what FTS5 counts);
- `postings` int32 [P] / `codes` uint16 or int32 [P]: per term, the positions of its documents (ascending) and
  the code of the (weighted frequency, document length) pair of each, the weighted frequency being
  NAME_WEIGHT x occurrences in the name + occurrences in the text;
- `pair_freqs` float64 [K] / `pair_lengths` int64 [K]: the pairs. Why pairs: BM25's per-posting part
  f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl)) depends on nothing else, and a catalog has a few thousand
  distinct pairs against millions of postings, so a search computes it once per pair (a small table per view)
  and reads it by code, the same double for the same inputs as computing it per posting;
- `starts` int64 [V+1]: term i's postings are `starts[i]:starts[i+1]`;
- `terms` uint8 [B] / `term_offsets` int64 [V+1]: the terms, UTF-8, sorted, concatenated; found by binary
  search over the mapped bytes, so opening a snapshot reads no dictionary at all;
- `info.json`: counts, total length, the name weight and tokenizer version it was built with.

Crash safety: a generation is written to a temporary folder, each file fsynced, then renamed into place; only
then does the caller point the index's `meta` row at it. A half-written folder is never current, and `load`
checks shapes, dtypes and counts so that a truncated or mismatched file raises `SnapshotError` (the caller then
searches through FTS5).
"""

from __future__ import annotations

import json
import os
import shutil
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from catalog.vector_files import fsync_path

FORMAT = 1
CHUNK = 50_000  # documents tokenised and aggregated at a time while building (bounds the temporary arrays)
TEMPORARY = ".tmp-"
_DTYPES = {"ids": np.int64, "lengths": np.int32, "postings": np.int32, "codes": np.uint16, "starts": np.int64,
           "term_offsets": np.int64, "terms": np.uint8, "pair_freqs": np.float64, "pair_lengths": np.int64}
_CODES = (np.uint16, np.int32)  # uint16 while the pairs fit


class SnapshotError(Exception):
    """A snapshot folder that is missing, incomplete or inconsistent: search through FTS5 instead."""


def snapshot_root(index_file: Path) -> Path:
    """Where the generations of an index file live: next to it, so a copied or deleted index takes them along."""
    return index_file.with_name(index_file.name + ".snapshot")


def generation_name(generation: int) -> str:
    return f"g{generation:08d}"


def document_terms(name: str, text: str, weight: float, lookup: Callable[[str], int]
                   ) -> tuple[list[int], list[float], int]:
    """One document's distinct term ids, weighted frequencies and length, from the FTS5 columns' stored terms
    (single-space separated, one FTS5 token each). Used for changed documents; `build` does the same in bulk.

    Terms are lower-cased as unicode61 folds them: the tokenizer's folding can leave a capital from a
    compatibility character (a mathematical script letter decomposes to a plain capital), which FTS5 matches
    case-insensitively; queries are lower-cased the same way (`catalog.keyword_bm25`)."""
    counts: dict[int, float] = {}
    name_terms, text_terms = name.lower().split(), text.lower().split()
    for term in name_terms:
        key = lookup(term)
        counts[key] = counts.get(key, 0.0) + weight
    for term in text_terms:
        key = lookup(term)
        counts[key] = counts.get(key, 0.0) + 1.0
    return list(counts), list(counts.values()), len(name_terms) + len(text_terms)


class Terms:
    """The sorted term dictionary of a snapshot, searched in place (no per-process dictionary to build)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = memoryview(blob)
        self._offsets = memoryview(offsets).cast("B").cast("q")
        self.size = len(offsets) - 1

    def _key(self, i: int) -> bytes:
        return bytes(self._blob[self._offsets[i]:self._offsets[i + 1]])

    def find(self, term: str) -> int:
        """The term's index, or -1 when no document of the snapshot holds it."""
        key = term.encode("utf-8")
        low, high = 0, self.size
        while low < high:
            middle = (low + high) // 2
            if self._key(middle) < key:
                low = middle + 1
            else:
                high = middle
        return low if low < self.size and self._key(low) == key else -1


@dataclass
class Snapshot:
    """One loaded generation: memory-mapped arrays plus its dictionary (see the module docstring)."""

    generation: int
    folder: Path
    ids: np.ndarray
    lengths: np.ndarray
    postings: np.ndarray
    codes: np.ndarray
    starts: np.ndarray
    pair_freqs: np.ndarray
    pair_lengths: np.ndarray
    terms: Terms
    total: int  # sum of lengths
    _found: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.ids)

    def term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(positions, pair codes) of the documents holding `term`, as views of the mapped arrays; empty when no
        document holds it. Only the dictionary lookup is cached, never the postings."""
        found = self._found.get(term)
        if found is None:
            index = self.terms.find(term)
            found = (0, 0) if index < 0 else (int(self.starts[index]), int(self.starts[index + 1]))
            if len(self._found) > 65536:  # recent query terms, not the vocabulary
                self._found.clear()
            self._found[term] = found
        return self.postings[found[0]:found[1]], self.codes[found[0]:found[1]]


def build(rows: Iterable[tuple[int, str, str]], root: Path, generation: int, *, weight: float,
          tokens_version: str, expected: tuple[int, int] | None = None) -> Path:
    """Write generation `generation` from (id, name terms, text terms) rows in ascending id order; returns its
    folder. Written under a temporary name and renamed when complete and fsynced.

    `expected` is FTS5's own (rows, tokens) count: a snapshot whose documents or lengths differ (a stored term
    that FTS5's tokenizer splits in two, which the scores would then disagree on) raises SnapshotError instead of
    becoming current."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / generation_name(generation)
    temporary = root / f"{TEMPORARY}{generation_name(generation)}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        arrays = _arrays(rows, weight)
        counted = (len(arrays["ids"]), int(arrays["lengths"].sum(dtype=np.int64)))
        if expected is not None and counted != expected:
            raise SnapshotError(f"keyword snapshot counts {counted[0]} documents of {counted[1]} tokens where FTS5 "
                                f"counts {expected[0]} of {expected[1]}: not built")
        for name, values in arrays.items():
            _write(temporary / f"{name}.npy", values)
        info = {"format": FORMAT, "generation": generation, "documents": len(arrays["ids"]),
                "postings": len(arrays["postings"]), "terms": len(arrays["starts"]) - 1,
                "pairs": len(arrays["pair_freqs"]),
                "total": int(arrays["lengths"].sum(dtype=np.int64)), "weight": weight,
                "tokens_version": tokens_version}
        (temporary / "info.json").write_text(json.dumps(info), encoding="utf-8")
        fsync_path(temporary / "info.json")
        fsync_path(temporary)
        shutil.rmtree(final, ignore_errors=True)  # a folder left by a build whose meta update never committed
        os.replace(temporary, final)
        fsync_path(root)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def load(root: Path, generation: int, *, weight: float, tokens_version: str) -> Snapshot:
    """Open a generation read-only and memory-mapped, after checking that its files agree with each other."""
    folder = root / generation_name(generation)
    try:
        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _DTYPES}
    except (OSError, ValueError) as error:
        raise SnapshotError(f"keyword snapshot {folder} cannot be read: {error}") from error
    _check(folder, info, arrays, generation, weight, tokens_version)
    return Snapshot(generation, folder, arrays["ids"], arrays["lengths"], arrays["postings"], arrays["codes"],
                    arrays["starts"], arrays["pair_freqs"], arrays["pair_lengths"],
                    Terms(arrays["terms"], arrays["term_offsets"]), int(info["total"]))


def fts5_totals(block: bytes) -> tuple[int, int]:
    """(rows, tokens over all columns) from an FTS5 table's averages record (`<table>_data` row 1): SQLite
    varints, the row count then each column's token total. What FTS5's bm25 reads as N and avgdl x N."""
    values, offset = [], 0
    while offset < len(block):
        value = 0
        for index in range(9):
            byte = block[offset + index]
            if index == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        offset += index + 1
        values.append(value)
    return (values[0], sum(values[1:])) if values else (0, 0)


def remove_generations(root: Path, keep: int | None) -> None:
    """Delete every generation folder but `keep`, and temporary folders of builds that did not finish. Readers
    that still map an old generation keep working (Linux frees the pages when the last mapping goes)."""
    if not root.is_dir():
        return
    current = generation_name(keep) if keep is not None else None
    for child in root.iterdir():
        if child.name != current:
            shutil.rmtree(child, ignore_errors=True)


def _arrays(rows: Iterable[tuple[int, str, str]], weight: float) -> dict[str, np.ndarray]:
    """The snapshot's arrays from rows in id order. Each chunk of documents is aggregated with numpy (one
    (term, document) entry with its weighted frequency), then all entries are ordered by term, stably, so each
    term's positions stay ascending."""
    vocabulary: defaultdict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # a new term gets the next id
    lookup = vocabulary.__getitem__
    ids, lengths = array("q"), array("q")
    terms_parts, docs_parts, freqs_parts = [], [], []
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        tokens: list[int] = []
        counts: list[int] = []
        for doc_id, name, text in chunk:
            name_terms, text_terms = (name or "").lower().split(), (text or "").lower().split()
            tokens += map(lookup, name_terms)
            tokens += map(lookup, text_terms)
            counts += (len(name_terms), len(text_terms))
            ids.append(doc_id)
        size, base = len(chunk), len(ids) - len(chunk)
        per_column = np.array(counts, dtype=np.int64)
        per_document = per_column.reshape(size, 2).sum(axis=1)
        lengths.extend(per_document.tolist())
        weights = np.repeat(np.tile(np.array([weight, 1.0]), size), per_column)
        keys = np.array(tokens, dtype=np.int64) * size + np.repeat(np.arange(size, dtype=np.int64), per_document)
        unique, inverse = np.unique(keys, return_inverse=True)
        freqs = np.bincount(inverse.ravel(), weights=weights)
        if not np.array_equal(freqs.astype(np.float32), freqs):  # stored as float32, must stay exact
            raise ValueError(f"weighted frequencies with name weight {weight} are not exact in float32")
        freqs_parts.append(freqs.astype(np.float32))
        terms_parts.append((unique // size).astype(np.int32))
        docs_parts.append((unique % size + base).astype(np.int32))
    words = list(vocabulary)
    rank = np.empty(len(words), dtype=np.int32)
    rank[np.array(sorted(range(len(words)), key=words.__getitem__), dtype=np.int64)] = np.arange(len(words))
    ranked = rank[np.concatenate(terms_parts)] if terms_parts else np.zeros(0, np.int32)
    order = np.argsort(ranked, kind="stable")
    postings = np.concatenate(docs_parts)[order] if docs_parts else np.zeros(0, np.int32)
    freqs = np.concatenate(freqs_parts)[order] if freqs_parts else np.zeros(0, np.float32)
    length_array = np.array(lengths, dtype=np.int64)
    pairs = (freqs.view(np.uint32).astype(np.int64) << 32) | length_array[postings]  # exact: both are integers
    unique_pairs, codes = np.unique(pairs, return_inverse=True)
    encoded = [word.encode("utf-8") for word in sorted(words)]
    id_array = np.array(ids, dtype=np.int64)
    if len(id_array) > 1 and not bool(np.all(np.diff(id_array) > 0)):
        raise ValueError("snapshot rows must come in ascending id order without duplicates")
    return {
        "ids": id_array,
        "lengths": length_array.astype(np.int32),
        "postings": postings,
        "codes": codes.ravel().astype(np.uint16 if len(unique_pairs) <= 65536 else np.int32),
        "pair_freqs": (unique_pairs >> 32).astype(np.uint32).view(np.float32).astype(np.float64),
        "pair_lengths": unique_pairs & 0xFFFFFFFF,
        "starts": np.concatenate([[0], np.cumsum(np.bincount(ranked, minlength=len(words)))]).astype(np.int64),
        "term_offsets": np.concatenate([[0], np.cumsum([len(e) for e in encoded], dtype=np.int64)]).astype(np.int64),
        "terms": np.frombuffer(b"".join(encoded), dtype=np.uint8),
    }


def _check(folder: Path, info: dict[str, object], arrays: dict[str, np.ndarray], generation: int, weight: float,
           tokens_version: str) -> None:
    """Consistency checks: shapes, dtypes, counts, monotonic offsets and ids, every posting and code in range
    (a negative position would silently wrap around in numpy). One pass over the arrays, tens of milliseconds at
    a million documents, once per generation and process; it also brings the pages into memory. A flipped bit
    that keeps every value in range is not detected (that would take checksums)."""
    problems = []
    if info.get("format") != FORMAT or info.get("generation") != generation:
        problems.append("format or generation differs")
    if info.get("weight") != weight or info.get("tokens_version") != tokens_version:
        problems.append("built with another name weight or tokenizer version")
    for name, dtype in _DTYPES.items():
        allowed = _CODES if name == "codes" else (dtype,)
        if arrays[name].dtype not in [np.dtype(d) for d in allowed] or arrays[name].ndim != 1:
            problems.append(f"{name} has dtype {arrays[name].dtype}, shape {arrays[name].shape}")
    if not problems:
        documents, postings, terms = (len(arrays[n]) for n in ("ids", "postings", "starts"))
        starts, offsets = arrays["starts"], arrays["term_offsets"]
        if (documents != info.get("documents") or len(arrays["lengths"]) != documents
                or postings != info.get("postings") or len(arrays["codes"]) != postings
                or terms - 1 != info.get("terms") or len(offsets) != terms
                or len(arrays["pair_freqs"]) != info.get("pairs") or len(arrays["pair_lengths"]) != info.get("pairs")):
            problems.append("array sizes disagree with info.json")
        elif (starts[0] != 0 or starts[-1] != postings or offsets[0] != 0 or offsets[-1] != len(arrays["terms"])
              or np.any(np.diff(starts) < 0) or np.any(np.diff(offsets) < 0)):
            problems.append("term offsets are not monotonic")
        elif int(arrays["lengths"].sum(dtype=np.int64)) != info.get("total") or (
                documents and int(arrays["lengths"].min()) < 0):
            problems.append("document lengths disagree with info.json")
        elif documents > 1 and np.any(np.diff(arrays["ids"]) <= 0):
            problems.append("document ids are not ascending")
        elif postings and (int(arrays["postings"].min()) < 0 or int(arrays["postings"].max()) >= documents
                           or int(arrays["codes"].max()) >= len(arrays["pair_freqs"])):
            problems.append("postings point outside the documents or pairs")
    if problems:
        raise SnapshotError(f"keyword snapshot {folder} is inconsistent: {'; '.join(problems)}")


def _write(path: Path, values: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, values, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())

