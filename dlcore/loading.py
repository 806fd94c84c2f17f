"""Read a user's file into a DataFrame, or refuse it with a message that says what to do."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.errors import DataError

MAX_BYTES = 200 * 1024 * 1024
MISSING_MARKERS = ["?", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", ""]
DELIMITERS = ",;\t|"
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DECIMAL_COMMA = r"-?\d+(,\d+)?"


@dataclass
class Dataset:
    """A loaded table with where it came from and what loading noticed."""

    name: str
    frame: pd.DataFrame
    digest: str
    delimiter: str = ","
    encoding: str = "utf-8"
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape


def read_table(source: bytes | str | Path, name: str | None = None, for_prediction: bool = False) -> Dataset:
    """Read CSV/TSV (optionally gzip-compressed) or Parquet from bytes or a path.

    A table to train on needs two columns and two rows; one ``for_prediction`` needs only a row.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"File not found: {path}.")
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB; use a sample of it.")
        raw, name = path.read_bytes(), name or path.name
    else:
        raw, name = bytes(source), name or "data.csv"
    if len(raw) > MAX_BYTES:
        raise DataError(f"{name} is larger than {MAX_BYTES // 2**20} MB; use a sample of it.")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{name} looks gzip-compressed but cannot be decompressed ({exc}).") from exc
    if raw[:4] == b"PAR1":
        frame = _read_parquet(raw, name)
        dataset = Dataset(name, frame, digest, delimiter="", encoding="parquet")
    else:
        dataset = _read_csv(raw, name, digest)
    _clean_infinities(dataset)
    _check_usable(dataset, for_prediction)
    return dataset


def _read_parquet(raw: bytes, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several unrelated types
        raise DataError(f"{name} is not a readable Parquet file ({exc}).") from exc


def _read_csv(raw: bytes, name: str, digest: str) -> Dataset:
    if not raw.strip():
        raise DataError(f"{name} is empty: upload a CSV file with a header row and data rows.")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} is not a text table (it contains binary data): upload a CSV file.")
    text, encoding = _decode(raw, name)
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            na_values=MISSING_MARKERS,
            keep_default_na=True,
            skipinitialspace=True,
            index_col=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
        raise DataError(f"{name} could not be read as a table: {str(exc).strip().splitlines()[0]}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    dataset = Dataset(name, frame, digest, delimiter=delimiter, encoding=encoding)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=delimiter), [])]
    renamed = [f"{a!r} → {b!r}" for a, b in zip(header, frame.columns) if a and a != b]
    unnamed = [b for a, b in zip(header, frame.columns) if not a]
    if renamed:
        dataset.notes.append("Duplicate column names were renamed: " + ", ".join(renamed) + ".")
    if unnamed:
        dataset.notes.append("Columns without a name were named " + ", ".join(map(repr, unnamed)) + ".")
    if delimiter != ",":
        _read_decimal_commas(dataset)
    return dataset


def _read_decimal_commas(dataset: Dataset) -> None:
    """Text columns whose values are all numbers written with a decimal comma (``3,14``) become numbers."""
    frame = dataset.frame
    converted = []
    for name in frame.columns:
        values = frame[name].dropna()
        if len(values) and pd.api.types.is_string_dtype(values) and values.str.fullmatch(DECIMAL_COMMA).all():
            frame[name] = pd.to_numeric(frame[name].str.replace(",", ".", regex=False))
            converted.append(name)
    if converted:
        dataset.notes.append(f"Read decimal commas as numbers in {len(converted)} column(s).")


def _clean_infinities(dataset: Dataset) -> None:
    """Infinite numbers are data errors, not values: treat them as missing and say so."""
    numeric = dataset.frame.select_dtypes("number")
    infinite = np.isinf(numeric)
    count = int(infinite.to_numpy().sum())
    if count:
        dataset.frame[numeric.columns] = numeric.mask(infinite)
        dataset.notes.append(f"{count} infinite value(s) were treated as missing.")


def _decode(raw: bytes, name: str) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:65536])
        if printable < 0.95 * min(len(text), 65536):
            break
        return text, encoding
    raise DataError(f"{name} is not a text table (its bytes are not readable text): upload a CSV file.")


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


def _check_usable(dataset: Dataset, for_prediction: bool) -> None:
    frame, name = dataset.frame, dataset.name
    if len(frame) == 0:
        raise DataError(f"{name} has a header but no data rows.")
    if for_prediction:
        return
    if frame.shape[1] < 2:
        raise DataError(
            f"{name} has only one column; a model needs at least one input column and a target column "
            "(if the file uses another delimiter, save it as a comma-separated CSV)."
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
