"""Read a user's file into a DataFrame, or refuse it with a message that says what to do.

CSV-like text (any of ``, ; TAB |``, decimal point or comma, thousands separators, UTF-8 with or
without BOM, cp1252/Latin-1, CRLF, quoted newlines, common missing-value markers), gzip-compressed
CSV, Excel (.xlsx) and Parquet. What was detected is kept in :class:`ReadOptions` so the user can
see it and override any part of it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.errors import DataError

def _limit(name: str, default: int) -> int:
    """A size limit: the environment variable ``name`` when set, else ``default``."""
    return int(os.environ.get(name) or default)


# Guards checked before the expensive work (see SECURITY.md); each can be set with its environment variable.
MAX_BYTES = _limit("DLCORE_MAX_FILE_BYTES", 200 * 1024 * 1024)  # a file (after gzip decompression)
MAX_HEADER_BYTES = _limit("DLCORE_MAX_HEADER_BYTES", 1024 * 1024)  # the header line of a CSV
MAX_COLUMNS = _limit("DLCORE_MAX_COLUMNS", 20_000)
MAX_CELLS = _limit("DLCORE_MAX_CELLS", 50_000_000)  # rows × columns
MISSING_MARKERS = ["?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "", "-"]
DELIMITERS = ",;\t|"
ENCODINGS = ("utf-8", "cp1252", "latin-1")
DECIMAL_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d+$")
DECIMAL_POINT_NUMBER = re.compile(r"^[+-]?\d+\.\d+$")
THOUSANDS_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
SNIFF_LINES = 200


@dataclass(frozen=True)
class ReadOptions:
    """How a file is read; ``None`` means detect. The detected values are reported back filled in."""

    format: str | None = None  # "csv", "excel" or "parquet"
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    header_row: int = 0

    def get_config(self) -> dict:
        return asdict(self)


@dataclass
class Dataset:
    """A loaded table with how it was read and what loading noticed."""

    name: str
    frame: pd.DataFrame
    digest: str
    options: ReadOptions = field(default_factory=ReadOptions)
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape

    def derive(self, frame: pd.DataFrame, change: str) -> Dataset:
        """The same data set after ``change`` (a join, dropped duplicates): a new digest, the note kept."""
        digest = hashlib.sha256(f"{self.digest}:{change}".encode()).hexdigest()[:16]
        return Dataset(self.name, frame, digest, self.options, [*self.notes, change])

    def describe_format(self) -> str:
        """One line a person can check: what the file was read as."""
        opts = self.options
        if opts.format != "csv":
            return {"excel": "Excel workbook (first sheet)", "parquet": "Parquet file"}[opts.format]
        delimiter = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(opts.delimiter, repr(opts.delimiter))
        decimal = "decimal comma" if opts.decimal == "," else "decimal point"
        return f"CSV: {delimiter}-separated, {decimal}, {opts.encoding} text, header on line {opts.header_row + 1}"


def read_table(source: bytes | str | Path, name: str | None = None, for_prediction: bool = False,
               options: ReadOptions | None = None) -> Dataset:
    """Read a table from bytes or a path, detecting whatever ``options`` leaves as ``None``.

    A table to train on needs two columns and two rows; one ``for_prediction`` needs only a row.
    """
    raw, name = _read_bytes(source, name)
    options = options or ReadOptions()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, name)
    kind = options.format or ("parquet" if raw[:4] == b"PAR1" else "excel" if raw[:4] == b"PK\x03\x04" else "csv")
    options = replace(options, format=kind)
    if kind == "parquet":
        dataset = Dataset(name, _read_binary(_read_parquet, raw, name, "Parquet"), digest, options)
    elif kind == "excel":
        frame = _read_binary(lambda buf: pd.read_excel(buf, header=options.header_row, na_values=MISSING_MARKERS),
                             raw, name, "Excel (.xlsx)")
        dataset = Dataset(name, frame, digest, options)
    else:
        dataset = _read_csv(raw, name, digest, options)
    _tidy_header(dataset)
    _clean_infinities(dataset)
    _check_usable(dataset, for_prediction)
    return dataset


def _gunzip(raw: bytes, name: str) -> bytes:
    """The decompressed bytes, read in steps so that a small file that inflates beyond :data:`MAX_BYTES` (a "gzip
    bomb") is refused before it fills the memory."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise DataError(f"{name} looks gzip-compressed but cannot be decompressed ({exc}).") from exc
    if len(data) > MAX_BYTES:
        raise DataError(f"{name} decompresses to more than {MAX_BYTES // 2**20} MB; use a sample of it.")
    return data


def _check_size(name: str, rows: int, columns: int) -> None:
    """Refuse a table of more columns or cells than the limits, before it is read."""
    if columns > MAX_COLUMNS:
        raise DataError(f"{name} has {columns:,} columns, more than the {MAX_COLUMNS:,} this app reads "
                        "(DLCORE_MAX_COLUMNS); keep the columns you need.")
    if rows * columns > MAX_CELLS:
        raise DataError(f"{name} has about {rows:,} rows × {columns:,} columns, more than the {MAX_CELLS:,} cells this "
                        "app reads (DLCORE_MAX_CELLS); use a sample of the rows.")


def _read_bytes(source: bytes | str | Path, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"File not found: {path}.")
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB; use a sample of it.")
        return path.read_bytes(), name or path.name
    name = name or "data.csv"
    if len(source) > MAX_BYTES:
        raise DataError(f"{name} is larger than {MAX_BYTES // 2**20} MB; use a sample of it.")
    return bytes(source), name


def _read_parquet(buffer) -> pd.DataFrame:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(buffer).metadata
    _check_size("The Parquet file", metadata.num_rows, metadata.num_columns)
    buffer.seek(0)
    return pd.read_parquet(buffer)


def _read_binary(reader, raw: bytes, name: str, what: str) -> pd.DataFrame:
    try:
        frame = reader(io.BytesIO(raw))
    except DataError:
        raise
    except Exception as exc:  # pyarrow and openpyxl raise many unrelated types
        raise DataError(f"{name} is not a readable {what} file ({str(exc).splitlines()[0][:200]}).") from exc
    _check_size(name, *frame.shape)
    return frame


def _read_csv(raw: bytes, name: str, digest: str, options: ReadOptions) -> Dataset:
    if not raw.strip():
        raise DataError(f"{name} is empty: upload a CSV file with a header row and data rows.")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} is not a text table (it contains binary data): upload a CSV file.")
    header = _header_line(raw, name, options.header_row)
    encoding = options.encoding or _detect_encoding(raw, name)
    sample = raw[:262144].decode(encoding, errors="replace")
    lines = sample.splitlines()[options.header_row:options.header_row + SNIFF_LINES]
    delimiter = options.delimiter or _sniff_delimiter(lines)
    _check_size(name, raw.count(b"\n"), header.count(delimiter.encode()) + 1)
    decimal = options.decimal or _sniff_decimal(lines, delimiter)
    options = replace(options, encoding=encoding, delimiter=delimiter, decimal=decimal)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw), sep=delimiter, decimal=decimal, thousands=_sniff_thousands(lines, delimiter, decimal),
            encoding=encoding, header=options.header_row, na_values=MISSING_MARKERS, keep_default_na=True,
            skipinitialspace=True, index_col=False, on_bad_lines="error",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise DataError(f"{name} could not be read as a table: {str(exc).strip().splitlines()[0]} "
                        "(check the delimiter and header row).") from exc
    dataset = Dataset(name, frame, digest, options)
    header = lines[0] if lines else ""
    dataset.notes.extend(_header_notes(next(csv.reader([header], delimiter=delimiter), []), frame.columns))
    return dataset


def _header_line(raw: bytes, name: str, header_row: int) -> bytes:
    """The header line's bytes; a line longer than :data:`MAX_HEADER_BYTES` is refused before anything parses it."""
    start = 0
    for _ in range(header_row):
        start = raw.find(b"\n", start, start + MAX_HEADER_BYTES + 1) + 1
        if start == 0:
            raise DataError(f"{name} has no line {header_row + 1} to read the header from.")
    end = raw.find(b"\n", start, start + MAX_HEADER_BYTES + 1)
    if end == -1:
        if len(raw) - start > MAX_HEADER_BYTES:
            raise DataError(f"{name}'s header line is longer than {MAX_HEADER_BYTES // 1024:,} KB "
                            "(DLCORE_MAX_HEADER_BYTES): this is not a table's header.")
        end = len(raw)
    return raw[start:end]


def _detect_encoding(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        head = text[:65536]
        if sum(ch.isprintable() or ch in "\r\n\t" for ch in head) < 0.95 * len(head):
            break
        return encoding
    raise DataError(f"{name} is not a text table (its bytes are not readable text): upload a CSV file.")


def _sniff_delimiter(lines: list[str]) -> str:
    sample = "\n".join(lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


def _sniff_decimal(lines: list[str], delimiter: str) -> str:
    """A decimal comma needs a non-comma delimiter and more ``3,14`` numbers than ``3.14`` ones."""
    if delimiter == ",":
        return "."
    fields = [f.strip().strip('"') for row in csv.reader(lines[1:], delimiter=delimiter) for f in row]
    commas = sum(bool(DECIMAL_COMMA_NUMBER.match(f)) for f in fields)
    points = sum(bool(DECIMAL_POINT_NUMBER.match(f)) for f in fields)
    return "," if commas > points else "."


def _sniff_thousands(lines: list[str], delimiter: str, decimal: str) -> str | None:
    """``,`` when the sample holds numbers grouped like ``3,449`` (and the decimal mark is a point)."""
    if decimal != ".":
        return None
    fields = (f.strip() for row in csv.reader(lines[1:], delimiter=delimiter) for f in row)
    return "," if any(THOUSANDS_NUMBER.match(f) for f in fields) else None


def _header_notes(header: list[str], columns: pd.Index) -> list[str]:
    header = [h.strip() for h in header]
    renamed = [f"{a!r} → {b!r}" for a, b in zip(header, columns) if a and a != str(b).strip()]
    unnamed = [str(b) for a, b in zip(header, columns) if not a]
    notes = []
    if renamed:
        notes.append("Duplicate column names were renamed: " + ", ".join(renamed) + ".")
    if unnamed:
        notes.append("Columns without a name were named " + ", ".join(map(repr, unnamed)) + ".")
    return notes


def _tidy_header(dataset: Dataset) -> None:
    """Column names as trimmed strings, unique (Excel and Parquet may repeat or use numbers)."""
    names, seen = [], {}
    for column in dataset.frame.columns:
        name = str(column).strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    dataset.frame.columns = names


def _clean_infinities(dataset: Dataset) -> None:
    """Infinite numbers are data errors, not values: treat them as missing and say so."""
    numeric = dataset.frame.select_dtypes("number")
    infinite = np.isinf(numeric)
    count = int(infinite.to_numpy().sum())
    if count:
        dataset.frame[numeric.columns] = numeric.mask(infinite)
        dataset.notes.append(f"{count} infinite value(s) were treated as missing.")


def _check_usable(dataset: Dataset, for_prediction: bool) -> None:
    frame, name = dataset.frame, dataset.name
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows.")
    if for_prediction:
        return
    if frame.shape[1] < 2:
        raise DataError(
            f"{name} has only one column; a model needs at least one input column and a target column "
            "(if the file uses another delimiter, choose it under 'How the file was read')."
        )
    if len(frame) < 2:
        raise DataError(f"{name} has only one data row; training needs many rows.")


def drop_missing_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, int]:
    """Rows whose target is missing cannot be learned from: drop them and say how many."""
    if target not in frame.columns:
        raise DataError(f"Target column {target!r} is not in the data; columns are: {', '.join(map(str, frame.columns))}.")
    keep = frame[target].notna()
    dropped = int((~keep).sum())
    if not keep.any():
        raise DataError(f"Target column {target!r} is empty in every row: choose another target.")
    return frame.loc[keep].reset_index(drop=True), dropped


@dataclass
class JoinReport:
    """Row counts around a join, so a user sees what the join did to the table."""

    left_rows: int
    right_rows: int
    result_rows: int
    unmatched_left: int
    duplicate_right_keys: int

    def message(self) -> str:
        text = f"{self.left_rows:,} rows joined with {self.right_rows:,} → {self.result_rows:,} rows."
        if self.unmatched_left:
            text += f" {self.unmatched_left:,} rows found no match."
        if self.duplicate_right_keys:
            text += (f" The second table repeats {self.duplicate_right_keys:,} key value(s), so some rows were "
                     "duplicated.")
        return text


def join_tables(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str = "left"
                ) -> tuple[pd.DataFrame, JoinReport]:
    """Join a second table on key column(s) (``inner`` or ``left``), as in the books' Rossmann train + store."""
    if how not in ("inner", "left"):
        raise DataError(f"Unknown join {how!r}: choose inner or left.")
    missing = [c for c in on if c not in left.columns or c not in right.columns]
    if not on or missing:
        raise DataError(f"Key column(s) {', '.join(missing) or '(none)'} must be in both tables.")
    try:
        merged = left.merge(right, on=on, how=how, suffixes=("", "_2"), indicator=True)
    except (ValueError, TypeError) as exc:
        raise DataError(f"The tables cannot be joined on {', '.join(on)}: {exc}.") from exc
    keys = left[on].merge(right[on].drop_duplicates(), on=on, how="left", indicator=True)
    report = JoinReport(
        left_rows=len(left), right_rows=len(right), result_rows=len(merged),
        unmatched_left=int((keys["_merge"] == "left_only").sum()),
        duplicate_right_keys=int(right.duplicated(subset=on).sum()),
    )
    return merged.drop(columns="_merge"), report
