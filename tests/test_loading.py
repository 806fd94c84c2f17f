"""dlcore.runtime.loading: reading user files (bytes and paths) and refusing unusable ones."""

import gzip
import io
import random

import numpy as np
import pandas as pd
import pytest

from dlcore.joins import join_tables
from dlcore.runtime.errors import DataError
from dlcore.runtime.loading import DATASET_INFO, DATASET_TABLE, Dataset, ReadOptions, drop_missing_target, read_table


# -- delimiters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "delimiter",
    [",", "\t", "|"],
    ids=["comma", "tab", "pipe"],
)
def test_delimiter_is_detected(delimiter):
    rows = [["height", "weight", "team"], ["1.5", "60", "red"], ["1.8", "82", "blue"], ["1.7", "75", "red"]]
    raw = "\n".join(delimiter.join(r) for r in rows).encode() + b"\n"

    dataset = read_table(raw, name="people.txt")

    assert isinstance(dataset, Dataset)
    assert dataset.options.delimiter == delimiter
    assert dataset.name == "people.txt"
    assert list(dataset.frame.columns) == ["height", "weight", "team"]
    assert dataset.shape == (3, 3)
    assert dataset.frame["height"].tolist() == [1.5, 1.8, 1.7]
    assert dataset.frame["weight"].tolist() == [60, 82, 75]
    assert dataset.frame["team"].tolist() == ["red", "blue", "red"]


def test_semicolon_with_decimal_comma():
    raw = b"price;amount;shop\n1,5;2,25;north\n3,75;4;south\n10,0;0,5;north\n"

    dataset = read_table(raw)

    assert dataset.options.delimiter == ";"
    frame = dataset.frame
    assert list(frame.columns) == ["price", "amount", "shop"]
    assert pd.api.types.is_float_dtype(frame["price"])
    assert frame["price"].tolist() == [1.5, 3.75, 10.0]
    assert frame["amount"].tolist() == [2.25, 4.0, 0.5]
    assert frame["shop"].tolist() == ["north", "south", "north"]


def test_comma_file_with_semicolons_inside_values_stays_comma():
    raw = b"name,comment\nx,a;b\ny,c;d\nz,e;f\n"

    dataset = read_table(raw)

    assert dataset.options.delimiter == ","
    assert dataset.frame["comment"].tolist() == ["a;b", "c;d", "e;f"]


# -- encodings and line endings -------------------------------------------------------------------

def test_utf8_with_bom_has_clean_first_header():
    raw = "\ufeffname,âge\nZoë,31\nÅsa,42\n".encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")

    dataset = read_table(raw)

    assert list(dataset.frame.columns) == ["name", "âge"]
    assert dataset.frame["name"].tolist() == ["Zoë", "Åsa"]
    assert dataset.frame["âge"].tolist() == [31, 42]


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_single_byte_encoded_accented_header(codec):
    raw = "café,prix,Größe\ncrème,1,2\nthé,3,4\n".encode(codec)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the test really exercises the fallback

    dataset = read_table(raw)

    assert dataset.options.encoding in ("cp1252", "latin-1")
    assert list(dataset.frame.columns) == ["café", "prix", "Größe"]
    assert dataset.frame["café"].tolist() == ["crème", "thé"]


def test_crlf_line_endings():
    raw = b"a,b,label\r\n1,2,x\r\n3,4,y\r\n5,6,x\r\n"

    dataset = read_table(raw)

    frame = dataset.frame
    assert list(frame.columns) == ["a", "b", "label"]
    assert frame["a"].tolist() == [1, 3, 5]
    assert frame["label"].tolist() == ["x", "y", "x"]  # no stray '\r'
    assert dataset.notes == []


# -- missing values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("marker", ["?", "NA", "N/A", "null", ""])
def test_missing_markers_become_nan(marker):
    raw = f"x,y,z\n1,a,5\n{marker},b,6\n3,{marker},7\n4,d,8\n".encode()

    frame = read_table(raw).frame

    assert frame["x"].isna().tolist() == [False, True, False, False]
    assert frame["y"].isna().tolist() == [False, False, True, False]
    # the numeric column stays numeric despite the marker
    assert pd.api.types.is_float_dtype(frame["x"])
    assert frame["x"].sum() == 8.0


def test_all_markers_together():
    raw = b"a,b,c,d,e\n?,NA,N/A,null,\n1,2,3,4,5\n"

    frame = read_table(raw).frame

    assert frame.iloc[0].isna().all()
    assert frame.iloc[1].tolist() == [1, 2, 3, 4, 5]


# -- compressed and binary formats ---------------------------------------------------------------------

def test_gzip_compressed_csv():
    plain = b"temp,city\n21.5,Oslo\n25.0,Rome\n19.25,Bergen\n"
    raw = gzip.compress(plain)
    assert raw[:2] == b"\x1f\x8b"

    dataset = read_table(raw, name="weather.csv.gz")

    assert dataset.frame["temp"].tolist() == [21.5, 25.0, 19.25]
    assert dataset.frame["city"].tolist() == ["Oslo", "Rome", "Bergen"]


def test_gzip_file_from_path(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,4\n"))

    dataset = read_table(path)

    assert dataset.name == "data.csv.gz"
    assert dataset.frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_parquet_bytes():
    original = pd.DataFrame({"amount": [1.5, 2.5, np.nan, 4.0], "kind": ["a", "b", "a", None], "n": [1, 2, 3, 4]})
    buffer = io.BytesIO()
    original.to_parquet(buffer)

    dataset = read_table(buffer.getvalue(), name="table.parquet")

    assert dataset.options.format == "parquet"
    assert list(dataset.frame.columns) == ["amount", "kind", "n"]
    assert dataset.frame["amount"].isna().tolist() == [False, False, True, False]
    assert dataset.frame["n"].tolist() == [1, 2, 3, 4]
    assert dataset.frame["kind"].iloc[:3].tolist() == ["a", "b", "a"]
    assert pd.isna(dataset.frame["kind"].iloc[3])


def test_digest_identifies_the_bytes():
    first = read_table(b"a,b\n1,2\n3,4\n")
    same = read_table(b"a,b\n1,2\n3,4\n")
    other = read_table(b"a,b\n1,2\n3,5\n")
    assert first.digest == same.digest
    assert first.digest != other.digest


def test_the_same_bytes_read_another_way_are_another_table():
    raw = b"a;b,c\n1;2,5\n3;4,5\n"
    by_comma = read_table(raw, options=ReadOptions(delimiter=","))
    by_semicolon = read_table(raw, options=ReadOptions(delimiter=";"))
    assert list(by_comma.frame.columns) != list(by_semicolon.frame.columns)
    assert by_comma.digest != by_semicolon.digest  # caches keyed on the digest (the profile) see the change
    assert read_table(raw, options=by_semicolon.options).digest == by_semicolon.digest


# -- duplicate headers ------------------------------------------------------------------------------------

def test_duplicate_header_names_get_a_note():
    dataset = read_table(b"score,score,name\n1,2,x\n3,4,y\n")

    assert len(set(dataset.frame.columns)) == 3
    assert dataset.frame.columns[0] == "score"
    assert dataset.frame.iloc[:, 1].tolist() == [2, 4]
    assert len(dataset.notes) == 1
    assert "Duplicate column names" in dataset.notes[0]
    assert "score" in dataset.notes[0]


def test_unique_header_has_no_note():
    assert read_table(b"a,b,c\n1,2,3\n4,5,6\n").notes == []


# -- refusals --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"a,b,c\n", "no data rows"),
        (b"only\n1\n2\n3\n", "only one column"),
        (b"a,b\n1,2\n", "only one data row"),
        (b"a,b\n1,2\n3,4,5,6\n", "could not be read"),
        (b"\x1f\x8bnot really gzip", "cannot be decompressed"),
        (b"PAR1 but not parquet", "not a readable Parquet"),
    ],
    ids=["empty", "blank", "header-only", "one-column", "one-row", "ragged", "bad-gzip", "bad-parquet"],
)
def test_unusable_bytes_are_refused(raw, words):
    with pytest.raises(DataError) as info:
        read_table(raw, name="upload.csv")
    message = str(info.value)
    assert words in message
    assert "upload.csv" in message


def test_random_binary_bytes_are_refused():
    raw = random.Random(0).randbytes(4096)

    with pytest.raises(DataError, match="not a text table"):
        read_table(raw, name="blob.bin")


def test_random_binary_without_nul_bytes_is_refused():
    # Without NUL bytes the quick binary check does not fire; decoding must still refuse it.
    raw = random.Random(0).randbytes(4096).replace(b"\x00", b"\x01")
    assert b"\x00" not in raw

    with pytest.raises(DataError, match="not a text table"):
        read_table(raw, name="blob.bin")


def test_missing_path_is_refused(tmp_path):
    path = tmp_path / "nope" / "data.csv"
    with pytest.raises(DataError, match="File not found") as info:
        read_table(path)
    assert "data.csv" in str(info.value)
    with pytest.raises(DataError, match="File not found"):
        read_table(str(path))


def test_directory_path_is_refused(tmp_path):
    with pytest.raises(DataError, match="File not found"):
        read_table(tmp_path)


def test_oversized_bytes_are_refused(monkeypatch):
    import dlcore.runtime.loading as loading

    monkeypatch.setattr(loading, "MAX_BYTES", 10)
    with pytest.raises(DataError, match="larger than"):
        read_table(b"a,b\n1,2\n3,4\n5,6\n")


def test_data_error_is_a_value_error():
    with pytest.raises(ValueError):
        read_table(b"")


# -- missing targets ---------------------------------------------------------------------------------------------

def test_drop_missing_target_counts_rows():
    frame = pd.DataFrame({"x": [1, 2, 3, 4, 5], "y": ["a", None, "b", np.nan, "a"]})

    kept, dropped = drop_missing_target(frame, "y")

    assert dropped == 2
    assert kept["x"].tolist() == [1, 3, 5]
    assert kept["y"].tolist() == ["a", "b", "a"]
    assert list(kept.index) == [0, 2, 4]  # each row's position in the file, for its prediction's row_in_file
    assert len(frame) == 5  # the input is not modified


def test_drop_missing_target_nothing_to_drop():
    frame = pd.DataFrame({"x": [1, 2], "y": [0.5, 1.5]})
    kept, dropped = drop_missing_target(frame, "y")
    assert dropped == 0
    pd.testing.assert_frame_equal(kept, frame)


def test_drop_missing_target_refuses_all_missing():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [np.nan, np.nan, np.nan]})
    with pytest.raises(DataError, match="empty in every row") as info:
        drop_missing_target(frame, "y")
    assert "'y'" in str(info.value)


def test_drop_missing_target_refuses_unknown_target():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [1, 2, 3]})
    with pytest.raises(DataError, match="not in the data") as info:
        drop_missing_target(frame, "price")
    message = str(info.value)
    assert "'price'" in message
    assert "x, y" in message  # lists the columns there are


def test_semicolon_file_with_dot_decimals_reads_numbers():
    data = read_table(b'"fixed acidity";"quality"\n7.4;5\n7.8;5\n11.2;6\n')
    assert pd.api.types.is_float_dtype(data.frame["fixed acidity"])
    assert data.frame["fixed acidity"].tolist() == [7.4, 7.8, 11.2]


def test_trailing_delimiter_does_not_shift_columns():
    data = read_table(b"a,b\n1,2,\n3,4,\n")
    assert data.frame["a"].tolist() == [1, 3]
    assert data.frame["b"].tolist() == [2, 4]


def test_padded_header_names_are_trimmed_without_a_rename_note():
    data = read_table(b" a , b \n1,2\n3,4\n")
    assert list(data.frame.columns) == ["a", "b"]
    assert data.notes == []


def test_empty_header_name_gets_its_own_note():
    data = read_table(b"a,,c\n1,2,3\n4,5,6\n")
    assert any("without a name" in note for note in data.notes)
    assert not any("Duplicate" in note for note in data.notes)


def test_infinities_become_missing_with_a_note():
    data = read_table(b"x,y\n1,inf\n2,3\n-inf,4\n")
    assert data.frame["x"].isna().sum() == 1 and data.frame["y"].isna().sum() == 1
    assert "2 infinite value(s) were treated as missing." in data.notes


def test_prediction_file_may_have_one_row_and_one_column():
    data = read_table(b"x\n1.5\n", for_prediction=True)
    assert data.frame["x"].tolist() == [1.5]
    with pytest.raises(DataError, match="no data rows"):
        read_table(b"x\n", for_prediction=True)


def test_excel_workbook_is_read(tmp_path):
    frame = pd.DataFrame({"name": ["a", "b", "c"], "value": [1.5, 2.5, None], "label": ["x", "y", "x"]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    data = read_table(buffer.getvalue(), name="book.xlsx")
    assert data.options.format == "excel"
    assert data.describe_format() == "Excel workbook (first sheet)"
    assert data.frame["value"].tolist()[:2] == [1.5, 2.5] and np.isnan(data.frame["value"].iloc[2])


def test_detected_format_is_reported_and_can_be_overridden():
    raw = "a;b;c\n1,5;2;x\n2,5;3;y\n".encode("cp1252")
    data = read_table(raw)
    assert (data.options.delimiter, data.options.decimal) == (";", ",")
    assert data.describe_format().startswith("CSV: semicolon-separated, decimal comma")
    forced = read_table(raw, options=ReadOptions(delimiter=";", decimal="."))
    assert forced.frame["a"].tolist() == ["1,5", "2,5"]


def test_header_row_can_be_chosen():
    raw = b"exported by tool\nsecond junk line\nx,y\n1,2\n3,4\n"
    data = read_table(raw, options=ReadOptions(header_row=2))
    assert list(data.frame.columns) == ["x", "y"] and data.frame["y"].tolist() == [2, 4]


def test_thousands_separators_in_quoted_numbers():
    data = read_table(b'hits,career\n10,"3,449"\n12,"1,624"\n9,396\n')
    assert data.frame["career"].tolist() == [3449, 1624, 396]


def test_quoted_newlines_stay_in_their_cell():
    data = read_table(b'id,comment,y\n1,"two\nlines",0\n2,"one line",1\n')
    assert len(data.frame) == 2 and data.frame["comment"].iloc[0] == "two\nlines"


def test_left_and_inner_join_report_row_counts():
    sales = pd.DataFrame({"store": [1, 1, 2, 3], "sales": [10, 11, 20, 30]})
    stores = pd.DataFrame({"store": [1, 2], "kind": ["a", "b"]})
    left, report = join_tables(sales, stores, ["store"], "left")
    assert len(left) == 4 and left["kind"].isna().sum() == 1
    assert (report.left_rows, report.result_rows, report.unmatched_left) == (4, 4, 1)
    inner, report = join_tables(sales, stores, ["store"], "inner")
    assert len(inner) == 3 and "1 rows found no match" in report.message().replace(",", "")
    repeated = pd.concat([stores, stores.head(1)])
    _, report = join_tables(sales, repeated, ["store"], "left")
    assert report.duplicate_right_keys == 1 and "duplicated" in report.message()
    with pytest.raises(DataError, match="must be in both tables"):
        join_tables(sales, stores, ["missing"], "left")


def _chunky_csv() -> bytes:
    """A table whose text column is empty for its first 30 rows and whose last rows hold a cp1252 letter."""
    rows = ["id,colour,size"] + [f"{i},,{i * 0.5}" for i in range(30)] + [f"{i},red,{i}" for i in range(30, 60)]
    return ("\n".join(rows) + "\n60,café,1\n").encode("cp1252")


def test_a_file_parsed_in_chunks_reads_as_one_parse_would(monkeypatch, tmp_path):
    whole = read_table(_chunky_csv())
    monkeypatch.setattr("dlcore.runtime.loading.LOAD_CHUNK_CELLS", 30)  # chunks of 10 rows: colour is empty in three
    path = tmp_path / "chunky.csv"
    path.write_bytes(_chunky_csv())
    for source in (_chunky_csv(), path):
        chunked = read_table(source)
        assert pd.api.types.is_string_dtype(chunked.frame["colour"])
        assert chunked.frame["colour"].isna().sum() == 30
        assert chunked.frame["colour"].iloc[-1] == "café"
        pd.testing.assert_frame_equal(chunked.frame, whole.frame)
        assert chunked.options == whole.options and chunked.options.encoding == "cp1252"


def test_a_path_reads_like_its_bytes_with_the_same_digest(tmp_path):
    raw = "a;b;c\n1,5;x;2020-01-01\n2,5;y;2020-01-02\n".encode("utf-8-sig")
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    from_path, from_bytes = read_table(path), read_table(raw, name="t.csv")
    pd.testing.assert_frame_equal(from_path.frame, from_bytes.frame)
    assert from_path.digest == from_bytes.digest and from_path.options == from_bytes.options
    assert from_path.frame.columns[0] == "a" and from_path.frame["a"].tolist() == [1.5, 2.5]


def test_utf8_cut_inside_a_letter_at_a_block_edge_is_not_utf8(monkeypatch, tmp_path):
    monkeypatch.setattr("dlcore.runtime.loading.SCAN_BYTES", 7)
    path = tmp_path / "t.csv"
    path.write_bytes("a,b\nx,é\n".encode("utf-8") + b"y,\xe9\n")  # the last letter is Latin-1
    dataset = read_table(path)
    assert dataset.options.encoding == "cp1252" and dataset.frame["b"].tolist() == ["Ã©", "é"]


def test_a_data_set_kept_beside_a_run_comes_back_as_it_was_read(tmp_path):
    dataset = read_table(b"a;b;when\n1,5;x;2024-01-02\n2,5;y;2024-02-03\n", name="semi.csv")
    setup = {"target": "b", "task": "binary", "seed": 7, "kinds": {"a": "numeric"}}
    assert dataset.save(tmp_path / "run", setup)
    kept, kept_setup = Dataset.load(tmp_path / "run")
    pd.testing.assert_frame_equal(kept.frame, dataset.frame)
    assert (kept.name, kept.digest, kept.options, kept.notes) == (dataset.name, dataset.digest, dataset.options,
                                                                 dataset.notes)
    assert kept_setup == setup
    (tmp_path / "run" / DATASET_INFO).write_text("{not json")
    assert Dataset.load(tmp_path / "run") is None, "a damaged file: nothing comes back, nothing breaks"
    assert Dataset.load(tmp_path / "nothing") is None
    mixed = Dataset("m.csv", pd.DataFrame({"x": [1, "two", 3.5]}), "d")
    assert not mixed.save(tmp_path / "mixed") and not (tmp_path / "mixed" / DATASET_TABLE).exists()
