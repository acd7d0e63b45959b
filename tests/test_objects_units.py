"""Pure units of the object-store connector: CSV and JSON inference, bounded head reads and decoding, the layout
rules that turn keys into datasets, and the name-based file classification. No catalog, no files on disk."""

from __future__ import annotations

import codecs
import gzip
import json

import pytest

from connectors.objects.csv_sample import infer_csv
from connectors.objects.formats import Family, FileKind, classify
from connectors.objects.json_sample import infer_json
from connectors.objects.layout import (
    dataset_root,
    group_label,
    is_hidden_path,
    join,
    looks_like_part,
    overlaps,
    partition_of,
    split_key,
)
from connectors.objects.sampling import CHUNK, decode, read_head, whole_lines
from connectors.objects.stores import ObjectInfo
from tests.objects_data import MemoryStore, gzip_members, zstd_bytes


def types(result: object) -> dict[str, tuple[str, str, bool]]:
    return {f.name: (f.native_type, f.normalized_type, f.nullable) for f in result.fields}  # type: ignore[attr-defined]


# -- CSV ---------------------------------------------------------------------------------------------------------

def test_csv_semicolon_dialect_header_and_types() -> None:
    result = infer_csv("id;price;label;day;at;ok\n1;2.5;a;2024-01-02;2024-01-02T10:00:00Z;true\n"
                       "2;-3e2;;2024-02-03;2024-01-02 11:30;FALSE\n", None, 500)
    assert result.details == {"delimiter": ";", "quotechar": '"', "header": True}
    assert types(result) == {
        "id": ("int64", "integer", False), "price": ("double", "float", False),
        "label": ("string", "string", True), "day": ("date32[day]", "date", False),
        "at": ("timestamp[s]", "timestamp", False), "ok": ("bool", "boolean", False)}
    assert result.rows == 2 and result.problems == []


def test_csv_forced_tab_and_sniffed_tab() -> None:
    text = "name\tcity\nAda\tLyon, France\nBob\tParis\n"
    forced = infer_csv(text, "\t", 500)
    sniffed = infer_csv(text, None, 500)
    for result in (forced, sniffed):
        assert result.details["delimiter"] == "\t" and result.details["header"] is True
        assert [f.name for f in result.fields] == ["name", "city"]


def test_csv_leading_zero_codes_stay_strings() -> None:
    result = infer_csv("zip,phone,n,ratio\n02139,0612345678,1,0.5\n10001,0700000000,2,00.5\n", None, 500)
    assert types(result)["zip"][0] == "string" and types(result)["phone"][0] == "string"
    assert types(result)["n"][0] == "int64"
    assert types(result)["ratio"][0] == "string"  # `00.5` is not a number a writer would produce


def test_csv_without_header_gets_positional_names() -> None:
    result = infer_csv("1,2.5,x\n2,3.5,y\n", None, 500)
    assert result.details["header"] is False and result.rows == 2
    assert [f.name for f in result.fields] == ["column_1", "column_2", "column_3"]


def test_csv_all_text_header_is_recognised_and_names_made_unique() -> None:
    result = infer_csv("name, name,city\nAda,Lovelace,London\nAlan,Turing,Wilmslow\n", None, 500)
    assert result.details["header"] is True
    assert [f.name for f in result.fields] == ["name", "name_2", "city"]
    # Repeated header cells are not taken for a header: the first row is data, every column is a string.
    repeated = infer_csv("name,name,city\nAda,Lovelace,London\n", None, 500)
    assert repeated.details["header"] is False and repeated.rows == 2


def test_csv_ragged_rows_are_a_problem_not_an_error() -> None:
    result = infer_csv("a,b\n1,2\n3\n4,5,6\n7,8\n", None, 500)
    assert result.problems == ["2 of 4 sampled rows have a different number of fields than the header "
                               "(first at line 3: 1 fields, expected 2)"]
    assert types(result)["b"] == ("int64", "integer", True)  # missing in a short row: nullable


def test_csv_field_cap() -> None:
    header = ",".join(f"c{i}" for i in range(10))
    result = infer_csv(f"{header}\n" + ",".join("1" for _ in range(10)) + "\n", None, 4)
    assert [f.name for f in result.fields] == ["c0", "c1", "c2", "c3"]
    assert result.problems == ["10 columns; only the first 4 are catalogued"]


def test_csv_hostile_header_cells_are_kept_verbatim() -> None:
    result = infer_csv('"na""me",<script>alert(1)</script>,Straße 日本\n1,2,3\n', None, 500)
    assert [f.name for f in result.fields] == ['na"me', "<script>alert(1)</script>", "Straße 日本"]


def test_csv_blank_sample_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        infer_csv(" \n,,\n", None, 500)


# -- JSON --------------------------------------------------------------------------------------------------------

def test_json_array_document_with_nested_fields() -> None:
    text = json.dumps([{"id": 1, "user": {"geo": {"country": "FR"}}, "tags": ["a"], "items": [{"sku": "x"}]},
                       {"id": 2, "user": {"geo": {"country": None}}}])
    result = infer_json(text, False, True, 500)
    cols = {f.name: f for f in result.fields}
    assert result.rows == 2 and result.details == {"layout": "array"} and result.problems == []
    assert {"id", "user", "user.geo", "user.geo.country", "tags", "tags[]", "items", "items[]",
            "items[].sku"} == set(cols)
    assert cols["user.geo.country"].nested_path == "user.geo"
    assert cols["items[].sku"].nested_path == "items[]"
    assert cols["tags"].nullable and not cols["id"].nullable


def test_json_array_cut_by_the_sample_keeps_complete_records() -> None:
    text = json.dumps([{"a": i} for i in range(10)])[:-15]
    result = infer_json(text, False, False, 500)
    assert 0 < result.rows < 10 and [f.name for f in result.fields] == ["a"]
    with pytest.raises(json.JSONDecodeError):  # the same text as a whole file is broken JSON
        infer_json(text, False, True, 500)


def test_json_single_document() -> None:
    assert infer_json('{"a": {"b": 1}}', False, True, 500).details == {"layout": "document"}
    with pytest.raises(ValueError, match="larger than the sample"):
        infer_json('{"a": {"b": 1', False, False, 500)


def test_json_lines_with_bad_lines_and_non_objects() -> None:
    result = infer_json('{"a": 1}\nnot json\n\n[1, 2]\n{"a": 2, "b": {"c": true}}\n', True, True, 500)
    assert [f.name for f in result.fields] == ["a", "b", "b.c"]
    assert result.problems == ["1 of 4 sampled lines are not valid JSON (first at line 2)",
                               "1 of 3 sampled records are not JSON objects; only objects are catalogued"]
    with pytest.raises(ValueError, match="no JSON objects"):
        infer_json("[1]\n2\n", True, True, 500)


# -- head reads and decoding -------------------------------------------------------------------------------------

def head(data: bytes, name: str, compression: str | None, sample_bytes: int) -> tuple[bytes, bool, int, int]:
    store = MemoryStore({name: data})
    result = read_head(store, ObjectInfo(name, len(data)), compression, sample_bytes)
    return result.data, result.complete, result.consumed, store.bytes_read


def test_read_head_plain_reads_at_most_the_sample() -> None:
    data = b"x" * 10_000
    assert head(data, "a.csv", None, 4096) == (data[:4096], False, 4096, 4096)
    assert head(data, "a.csv", None, 10_000) == (data, True, 10_000, 10_000)


def test_read_head_multi_member_gzip_and_multi_frame_zstd() -> None:
    first, second = b"a,b\n" + b"1,2\n" * 10, b"3,4\n" * 10
    for data, compression in ((gzip_members(first, second), "gzip"),
                              (zstd_bytes(first) + zstd_bytes(second), "zstd")):
        content, complete, _, _ = head(data, "x", compression, 1024)
        assert content == first + second and complete is True


def test_read_head_of_a_large_compressed_file_costs_one_chunk_and_counts_the_sample_share() -> None:
    content = b"".join(b"%d,row number %d,%d\n" % (i, i * 7919 % 100_003, i % 13) for i in range(400_000))
    data = gzip.compress(content, compresslevel=1)
    assert len(data) > 2 * CHUNK
    sample, complete, consumed, read = head(data, "big.csv.gz", "gzip", 64 * 1024)
    assert sample == content[:64 * 1024] and complete is False
    assert read == CHUNK  # one chunk decompresses to more than the sample
    # The sample's share of the stored bytes, not the whole chunk: a row estimate scales file size by it.
    ratio = len(content) / len(data)
    assert consumed == pytest.approx(64 * 1024 / ratio, rel=0.1)


def test_read_head_of_corrupt_compression_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="corrupt gzip data"):
        head(b"\x1f\x8b\x08\x00garbage-garbage", "x.gz", "gzip", 1024)
    with pytest.raises(ValueError, match="corrupt zstd data"):
        head(b"\x28\xb5\x2f\xfdgarbage-garbage", "x.zst", "zstd", 1024)


def test_decode_utf8_boms_and_windows_1252() -> None:
    plain = decode("Straße".encode(), True)
    assert (plain.text, plain.encoding, plain.problem) == ("Straße", "utf-8", None)
    assert decode(codecs.BOM_UTF8 + b"a,b", True).encoding == "utf-8-sig"
    utf16 = decode("a,é".encode("utf-16"), True)
    assert (utf16.text, utf16.encoding) == ("a,é", "utf-16")
    windows = decode("Renée,Besançon\n".encode("cp1252"), True)
    assert (windows.text, windows.encoding) == ("Renée,Besançon\n", "cp1252")
    assert windows.problem == "not valid UTF-8 (first bad byte at offset 3); read as Windows-1252"


def test_decode_stray_windows_1252_bytes_in_utf8_text() -> None:
    mixed = decode("Straße,Größe\ncafé,".encode() + "naïve\n".encode("cp1252"), True)
    # Only the invalid bytes are read as Windows-1252: the UTF-8 header names stay intact.
    assert (mixed.text, mixed.encoding) == ("Straße,Größe\ncafé,naïve\n", "utf-8")
    assert mixed.problem == "not valid UTF-8 (first bad byte at offset 24); its invalid bytes read as Windows-1252"
    assert [f.name for f in infer_csv(mixed.text, None, 500).fields] == ["Straße", "Größe"]


def test_decode_a_sample_that_cuts_a_character_in_two() -> None:
    data = "abc é".encode()[:-1]
    cut = decode(data, False)
    assert (cut.text, cut.encoding, cut.problem) == ("abc ", "utf-8", None)
    assert decode(data, True).encoding == "cp1252"  # the same bytes as a whole file are broken


def test_whole_lines() -> None:
    assert whole_lines("a\nb\nc", False) == "a\nb\n"
    assert whole_lines("a\nb\nc", True) == "a\nb\nc"
    assert whole_lines("no newline", False) == ""


# -- layout ------------------------------------------------------------------------------------------------------

def test_split_key_and_hidden_paths() -> None:
    assert split_key("a/b/c.csv") == (["a", "b"], "c.csv")
    assert split_key("c.csv") == ([], "c.csv")
    assert is_hidden_path(["a", "_temporary", "0"], "part-0.parquet")
    assert is_hidden_path(["a"], ".part-0.parquet.crc") and is_hidden_path(["a"], "_SUCCESS")
    assert not is_hidden_path(["a", "b_c"], "d_e.csv")


def test_partitions_and_dataset_roots() -> None:
    assert partition_of("year=2024") == ("year", "2024")
    assert partition_of("city=S%C3%A3o%20Paulo") == ("city", "São Paulo")
    assert partition_of("k=") == ("k", "") and partition_of("=v") is None and partition_of("plain") is None
    assert dataset_root(["sales", "orders", "year=2024", "month=01"]) == (
        "sales/orders", [("year", "2024"), ("month", "01")], "year=2024/month=01")
    assert dataset_root(["a=1", "b"]) == ("a=1/b", [], "")  # only trailing key=value folders are partitions
    assert dataset_root(["d=1"]) == ("", [("d", "1")], "d=1")
    assert dataset_root([]) == ("", [], "")


@pytest.mark.parametrize(("stem", "part"), [
    ("part-00000", True), ("part-00000-c000.snappy", True), ("data", True), ("0001", True), ("20240101", True),
    ("7e1b9f3a-1c2d-4e5f-8a9b-0123456789ab", True), ("chunk_3", True),
    ("part-00000-7e1b9f3a-1c2d-4e5f-8a9b-0123456789ab-c000.snappy", True), ("000000_0", True),
    ("customers", False), ("orders_2024_01", False), ("partners", False), ("database", False),
    ("data_dictionary", False), ("files", False),
])
def test_looks_like_part(stem: str, part: bool) -> None:
    assert looks_like_part(stem) is part


def test_overlaps_group_labels_and_join() -> None:
    assert overlaps(set(), set())
    assert overlaps({"a", "b", "c"}, {"a", "b", "d"})  # 2 of 4
    assert not overlaps({"a", "b"}, {"c", "d"}) and not overlaps({"a", "b"}, {"a", "c", "d"})
    assert group_label("orders_2024_0", "orders_2024_01") == "orders"
    assert group_label("2024-01-0", "2024-01-01") == "2024-01-01"
    assert join("", "x") == "x" and join("a/b", "x") == "a/b/x"


# -- classification ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [
    ("part-0.parquet", FileKind(Family.TABULAR, "parquet", None, "part-0")),
    ("A.PQ", FileKind(Family.TABULAR, "parquet", None, "A")),
    ("orders.csv.gz", FileKind(Family.TABULAR, "csv", "gzip", "orders")),
    ("x.tsv", FileKind(Family.TABULAR, "tsv", None, "x")),
    ("e.ndjson.zst", FileKind(Family.TABULAR, "jsonl", "zstd", "e")),
    ("m.feather", FileKind(Family.TABULAR, "arrow", None, "m")),
    ("weird.name.json", FileKind(Family.TABULAR, "json", None, "weird.name")),
    ("logs.tar.gz", FileKind(Family.OTHER, "tar+gzip", None, "logs")),
    ("cat.JPG", FileKind(Family.IMAGE, "jpg", None, "cat")),
    ("clip.flac", FileKind(Family.AUDIO, "flac", None, "clip")),
    ("README", FileKind(Family.OTHER, "none", None, "README")),
    ("model.bin", FileKind(Family.OTHER, "bin", None, "model")),
])
def test_classify(name: str, kind: FileKind) -> None:
    assert classify(name) == kind
    assert classify("orders.csv.gz").label == "csv+gzip" and classify("a.csv").label == "csv"
