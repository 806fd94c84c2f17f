"""Read a user's file into a DataFrame, or refuse it with a message that says what to do.

CSV-like text (any of ``, ; TAB |``, decimal point or comma, thousands separators, UTF-8 with or
without BOM, cp1252/Latin-1, CRLF, quoted newlines, common missing-value markers), gzip-compressed
CSV, Excel (.xlsx) and Parquet. What was detected is kept in :class:`ReadOptions` so the user can
see it and override any part of it. :func:`stream_table` reads a table to predict in chunks, in bounded memory.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from dlcore.runtime.errors import DataError
from dlcore.runtime.files import read_json, replacing, write_json

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
SAMPLE_BYTES = 262144  # the start of a CSV that the delimiter, decimal mark and thousands separator are sniffed on
CHUNK_CELLS = 500_000  # rows × columns of one chunk of a streamed table (stream_table), unless told its rows
SCAN_BYTES = 16 * 2**20  # a file is digested and its encoding checked in blocks of this size
LOAD_CHUNK_CELLS = 4_000_000  # a CSV is parsed in chunks of about this many cells, each chunk's text made compact
DATASET_TABLE, DATASET_INFO = "dataset.parquet", "dataset.json"  # a data set kept beside a run (Dataset.save)
WIDE_COLUMNS = 100  # a table of more columns is wide: its columns are kept in one block of memory


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
    digest: str  # identifies the table: the file's bytes and how they were read
    options: ReadOptions = field(default_factory=ReadOptions)
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape

    @property
    def memory_bytes(self) -> int:
        """What the table takes in memory, text included."""
        return int(self.frame.memory_usage(deep=True).sum())

    def derive(self, frame: pd.DataFrame, change: str) -> Dataset:
        """The same data set after ``change`` (a join, dropped duplicates): a new digest, the note kept."""
        digest = hashlib.sha256(f"{self.digest}:{change}".encode()).hexdigest()[:16]
        return Dataset(self.name, frame, digest, self.options, [*self.notes, change])

    def save(self, folder: str | Path, setup: dict | None = None) -> bool:
        """Keep this data set in ``folder`` (a run's): the table as Parquet, how it was read, and the app's
        ``setup`` of it (target, task, split, kinds, options), each file written atomically, so that the run brings
        its data set back after a refresh. False, with nothing written, when the table cannot be stored as Parquet
        (a column of mixed types)."""
        folder = Path(folder)
        try:
            with replacing(folder / DATASET_TABLE) as temporary:
                self.frame.to_parquet(temporary, index=False)
        except (ValueError, TypeError, NotImplementedError):
            return False
        write_json(folder / DATASET_INFO, {"version": 1, "name": self.name, "digest": self.digest,
                                           "options": self.options.get_config(), "notes": self.notes,
                                           "setup": setup or {}})
        return True

    @classmethod
    def load(cls, folder: str | Path) -> tuple[Dataset, dict] | None:
        """The data set :meth:`save` kept in ``folder`` and its setup; None when there is none or it cannot be
        read."""
        folder = Path(folder)
        try:
            info = read_json(folder / DATASET_INFO)
            frame = pd.read_parquet(folder / DATASET_TABLE)
            options = ReadOptions(**{key: info["options"][key] for key in ReadOptions().get_config()})
            dataset = cls(str(info["name"]), frame, str(info["digest"]), options, [str(n) for n in info["notes"]])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return dataset, info["setup"] if isinstance(info.get("setup"), dict) else {}

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

    A plain CSV file is parsed from its path, never held whole as bytes, and in chunks, so that the parser's
    per-row text objects live for one chunk only: the peak memory of loading a 198 MB file was 2.6× its size
    (``benchmarks/large.py``; a plain ``pandas.read_csv``: 3.4×).
    A table to train on needs two columns and two rows; one ``for_prediction`` needs only a row.
    """
    options = options or ReadOptions()
    if isinstance(source, (str, Path)) and options.format in (None, "csv"):
        path = Path(source)
        head, compressed = _file_start(path) if path.is_file() else (b"", False)
        if not compressed and head[:4] not in (b"PAR1", b"PK\x03\x04"):
            _check_file(path)
            digest, lines, encodings = _scan_text(path)
            dataset = _read_csv(path, head, name or path.name, digest, lines,
                                replace(options, format="csv"), encodings)
            return _finish(dataset, for_prediction)
    raw, name = _read_bytes(source, name)
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
        dataset = _read_csv(raw, raw, name, digest, raw.count(b"\n"), options, ENCODINGS)
    return _finish(dataset, for_prediction)


def _finish(dataset: Dataset, for_prediction: bool) -> Dataset:
    """Tidy names, infinities as missing (with a note), the checks that the table can be used, and the digest made
    that of the table as read: the file's bytes and the options they were read with (the same bytes read with
    another delimiter are another table, and every cache keyed on the digest must see that)."""
    read_as = json.dumps(dataset.options.get_config(), sort_keys=True)
    dataset.digest = hashlib.sha256(f"{dataset.digest}:{read_as}".encode()).hexdigest()[:16]
    dataset.frame.columns = _tidy_names(dataset.frame.columns)
    if infinite := _infinities_as_missing(dataset.frame):
        dataset.notes.append(f"{infinite} infinite value(s) were treated as missing.")
    _check_usable(dataset, for_prediction)
    return dataset


def _scan_text(path: Path) -> tuple[str, int, tuple[str, ...]]:
    """One pass over a file in blocks: its digest (as of its bytes), its count of lines, and the encodings of
    :data:`ENCODINGS` that may be tried: UTF-8 alone when it decodes the whole file, else those that do."""
    digest, utf8, lines = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")(), 0
    valid = True
    with open(path, "rb") as file:
        while block := file.read(SCAN_BYTES):
            digest.update(block)
            lines += block.count(b"\n")
            valid = valid and _decodes(utf8, block)
    valid = valid and _decodes(utf8, b"", final=True)
    return digest.hexdigest()[:16], lines, ("utf-8",) if valid else _single_byte_encodings(path)


def _decodes(decoder: codecs.IncrementalDecoder, block: bytes, final: bool = False) -> bool:
    try:
        decoder.decode(block, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _single_byte_encodings(path: Path) -> tuple[str, ...]:
    """The encodings after UTF-8 in :data:`ENCODINGS` that decode the whole file (Latin-1 decodes any bytes)."""
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    with open(path, "rb") as file:
        while block := file.read(SCAN_BYTES):
            if not _decodes(cp1252, block):
                return ("latin-1",)
    return ("cp1252", "latin-1")


def stream_table(path: str | Path, chunk_rows: int | None = None, multiple: int = 1
                 ) -> tuple[ReadOptions, Iterator[pd.DataFrame]]:
    """The read options :func:`read_table` would detect, and the table at ``path`` as DataFrames of ``chunk_rows``
    rows, to predict a file of any length in bounded memory. By default a chunk holds about :data:`CHUNK_CELLS`
    cells, in a multiple of ``multiple`` rows where that many fit (a predictor's batch: the same batches as the
    whole table's, so the same predictions to the bit).

    The options are detected once, on the file's start. A CSV, plain or gzip-compressed, and a Parquet file stream;
    an Excel workbook is read whole, within every limit of :func:`read_table`. A streamed file is held to the header
    and column limits (:data:`MAX_HEADER_BYTES`, :data:`MAX_COLUMNS`) but not to :data:`MAX_BYTES` and
    :data:`MAX_CELLS`, which bound a table held whole. A chunk that cannot be read (a bad line, text not in the
    encoding of the file's start) raises :class:`DataError` when it is reached, as does a table of no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"File not found: {path}.")
    head, compressed = _file_start(path)
    if head[:4] == b"PAR1" and not compressed:
        return _stream_parquet(path, chunk_rows, multiple)
    if head[:4] in (b"PAR1", b"PK\x03\x04"):  # Excel, or compressed Parquet: read whole
        dataset = read_table(path, for_prediction=True)
        rows = chunk_rows or _chunk_rows(dataset.shape[1], multiple)
        frame = dataset.frame
        return dataset.options, (frame.iloc[start:start + rows] for start in range(0, len(frame), rows))
    options, thousands, _, columns = _csv_format(head, path.name, ReadOptions(format="csv"))
    _check_size(path.name, 0, columns)
    return options, _chunks(lambda: pd.read_csv(path, compression="gzip" if compressed else None,
                                                chunksize=chunk_rows or _chunk_rows(columns, multiple),
                                                **_csv_arguments(options, thousands)),
                            path.name, (ValueError, UnicodeError, OSError, EOFError))


def _file_start(path: Path) -> tuple[bytes, bool]:
    """The first bytes of a file, decompressed, enough to detect how to read it (cut after the last whole line), and
    whether it is gzip-compressed."""
    size = MAX_HEADER_BYTES + SAMPLE_BYTES
    with open(path, "rb") as file:
        head = file.read(size)
    compressed = head[:2] == b"\x1f\x8b"
    if compressed:
        try:
            with gzip.open(path) as file:
                head = file.read(size)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path.name} looks gzip-compressed but cannot be decompressed ({exc}).") from exc
    end = head.rfind(b"\n")
    return (head[:end + 1] if len(head) == size and end >= 0 else head), compressed


def _chunk_rows(columns: int, multiple: int) -> int:
    """Rows of a chunk of about :data:`CHUNK_CELLS` cells, rounded down to a multiple of ``multiple`` if one fits."""
    rows = max(1, CHUNK_CELLS // max(columns, 1))
    return rows - rows % multiple if rows >= multiple else rows


def _stream_parquet(path: Path, chunk_rows: int | None, multiple: int) -> tuple[ReadOptions, Iterator[pd.DataFrame]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises many unrelated types
        raise DataError(f"{path.name} is not a readable Parquet file ({_first_line(exc)[:200]}).") from exc
    columns = parquet.metadata.num_columns
    _check_size(path.name, 0, columns)
    rows = chunk_rows or _chunk_rows(columns, multiple)
    return ReadOptions(format="parquet"), _chunks(
        lambda: (pa.Table.from_batches([batch]).to_pandas() for batch in parquet.iter_batches(batch_size=rows)),
        path.name, Exception)  # pyarrow raises many unrelated types


def _chunks(open_frames, name: str, errors) -> Iterator[pd.DataFrame]:
    """The frames of ``open_frames()``, with tidy names and infinities as missing; a read error (of the types
    ``errors``) as a :class:`DataError`, and a table of no rows too."""
    rows = 0
    try:
        frames = open_frames()
        try:
            for frame in frames:
                if len(frame):
                    frame.columns = _tidy_names(frame.columns)
                    _infinities_as_missing(frame)
                    rows += len(frame)
                    yield frame
        finally:
            frames.close()
    except errors as exc:
        where = f"after its first {rows:,} rows" if rows else "as a table"
        raise DataError(f"{name} could not be read {where}: {_first_line(exc)}.") from exc
    if not rows:
        raise DataError(f"{name} has a header but no data rows.")


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


def _check_file(path: Path) -> None:
    """Refuse a path that is not a file, or a file larger than :data:`MAX_BYTES`."""
    if not path.is_file():
        raise DataError(f"File not found: {path}.")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB; use a sample of it.")


def _read_bytes(source: bytes | str | Path, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        _check_file(path)
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
    frame = pd.read_parquet(buffer)  # a named index the writer stored becomes a column; rows count from 0 again
    named = any(name is not None for name in frame.index.names)
    return frame.reset_index(drop=not named)


def _read_binary(reader, raw: bytes, name: str, what: str) -> pd.DataFrame:
    try:
        frame = reader(io.BytesIO(raw))
    except DataError:
        raise
    except Exception as exc:  # pyarrow and openpyxl raise many unrelated types
        raise DataError(f"{name} is not a readable {what} file ({str(exc).splitlines()[0][:200]}).") from exc
    _check_size(name, *frame.shape)
    return frame


def _read_csv(source: bytes | Path, head: bytes, name: str, digest: str, lines: int, options: ReadOptions,
              encodings: tuple[str, ...]) -> Dataset:
    """Parse a CSV (its bytes or its path), detecting how to read it from ``head``, its start; ``encodings`` are
    those that decode the whole file."""
    options, thousands, sniffed, columns = _csv_format(head, name, options, encodings)
    _check_size(name, lines, columns)
    rows = max(1, LOAD_CHUNK_CELLS // max(columns, 1))
    try:
        chunks = list(pd.read_csv(io.BytesIO(source) if isinstance(source, bytes) else source, chunksize=rows,
                                  **_csv_arguments(options, thousands)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise DataError(f"{name} could not be read as a table: {_first_line(exc)} "
                        "(check the delimiter and header row).") from exc
    frame = _concat_chunks(chunks)
    del chunks
    if frame.shape[1] > WIDE_COLUMNS:
        frame = frame.copy()  # with na_values the C parser gives a block per column: one block makes wide work fast
    dataset = Dataset(name, frame, digest, options)
    header = sniffed[0] if sniffed else ""
    dataset.notes.extend(_header_notes(next(csv.reader([header], delimiter=options.delimiter), []),
                                      frame.columns))
    return dataset


def _concat_chunks(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """One table from the chunks a CSV was parsed in, with the dtypes one parse of the whole file gives: a text
    column that is empty throughout a chunk (read there as missing numbers) stays text."""
    if len(chunks) == 1:
        return chunks[0]
    dtypes = pd.DataFrame([chunk.dtypes for chunk in chunks])
    for column in dtypes.columns[dtypes.nunique() > 1]:
        text = next((dtype for dtype in dtypes[column] if pd.api.types.is_string_dtype(dtype)), None)
        if text is not None:
            for chunk in chunks:
                if not pd.api.types.is_string_dtype(chunk[column]) and chunk[column].isna().all():
                    chunk[column] = chunk[column].astype(text)
    return pd.concat(chunks, ignore_index=True)


def _csv_format(raw: bytes, name: str, options: ReadOptions, encodings: tuple[str, ...] = ENCODINGS
                ) -> tuple[ReadOptions, str | None, list[str], int]:
    """How to read CSV bytes (a whole file or its start): the options with what was detected filled in (the encoding
    among ``encodings``, those known to decode the whole file), the thousands separator, the sniffed lines from the
    header on, and the header's count of columns."""
    if not raw.strip():
        raise DataError(f"{name} is empty: upload a CSV file with a header row and data rows.")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} is not a text table (it contains binary data): upload a CSV file.")
    header = _header_line(raw, name, options.header_row)
    encoding = options.encoding or _detect_encoding(raw, name, encodings)
    sample = raw[:SAMPLE_BYTES].decode(encoding, errors="replace")
    lines = sample.splitlines()[options.header_row:options.header_row + SNIFF_LINES]
    delimiter = options.delimiter or _sniff_delimiter(lines)
    decimal = options.decimal or _sniff_decimal(lines, delimiter)
    options = replace(options, encoding=encoding, delimiter=delimiter, decimal=decimal)
    return options, _sniff_thousands(lines, delimiter, decimal), lines, header.count(delimiter.encode()) + 1


def _csv_arguments(options: ReadOptions, thousands: str | None) -> dict:
    """``pandas.read_csv``'s arguments for a CSV of these options."""
    return dict(sep=options.delimiter, decimal=options.decimal, thousands=thousands, encoding=options.encoding,
                header=options.header_row, na_values=MISSING_MARKERS, keep_default_na=True, skipinitialspace=True,
                index_col=False, on_bad_lines="error")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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


def _detect_encoding(raw: bytes, name: str, encodings: tuple[str, ...] = ENCODINGS) -> str:
    """The first of ``encodings`` that decodes ``raw`` to printable text (UTF-8 with a byte-order mark as such)."""
    if raw.startswith(b"\xef\xbb\xbf") and "utf-8" in encodings:
        return "utf-8-sig"
    for encoding in encodings:
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


def _tidy_names(columns: pd.Index) -> list[str]:
    """Column names as trimmed strings, unique (Excel and Parquet may repeat or use numbers)."""
    names, seen = [], {}
    for column in columns:
        name = str(column).strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def _infinities_as_missing(frame: pd.DataFrame) -> int:
    """Infinite numbers are data errors, not values: make them missing in ``frame``; how many there were."""
    numeric = frame.select_dtypes("number")
    infinite = np.isinf(numeric)
    count = int(infinite.to_numpy().sum())
    if count:
        frame[numeric.columns] = numeric.mask(infinite)
    return count


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
    """Rows whose target is missing cannot be learned from: drop them and say how many. The rows keep their index
    (their positions in the file), so a prediction names the row it came from."""
    if target not in frame.columns:
        raise DataError(f"Target column {target!r} is not in the data; columns are: "
                        f"{', '.join(map(str, frame.columns[:20]))}{' …' if frame.shape[1] > 20 else ''}.")
    keep = frame[target].notna()
    dropped = int((~keep).sum())
    if not keep.any():
        raise DataError(f"Target column {target!r} is empty in every row: choose another target.")
    return frame.loc[keep], dropped
