"""Predict a file of any length: checked, predicted and written chunk by chunk, with each row's top reasons on
request (``python -m dlcore predict`` and a bundle's ``predict.py``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import background_for, predict_with_reasons
from dlcore.runtime.files import csv_text, replacing
from dlcore.runtime.inference import PREDICT_BATCH, Predictor, SchemaReport
from dlcore.runtime.loading import stream_table


def predict_file(model: str | Path, data: str | Path, out: str | Path, echo=print, explain: bool = False,
                 chunk_rows: int | None = None) -> SchemaReport:
    """Check and predict every row of the table at ``data`` with a run folder or bundle, and write the CSV ``out``:
    ``python -m dlcore predict`` and a bundle's ``predict.py``.

    The table is streamed (:func:`~dlcore.runtime.loading.stream_table`, ``chunk_rows`` rows at a time): each chunk is
    checked, predicted and appended to a temporary file beside ``out``, which replaces ``out`` once every row is
    written, so memory stays bounded and a failure leaves no half file. With ``explain``, each row's three most
    influential columns are added (needs shap). ``echo`` gets the report's summary, counted over all the rows, and a
    last line with the rows per second."""
    started = time.perf_counter()
    if chunk_rows is not None and chunk_rows < 1:
        raise DataError(f"--chunk-rows must be 1 or more, not {chunk_rows}.")
    predictor = Predictor.load(model)
    _, chunks = stream_table(data, chunk_rows, multiple=PREDICT_BATCH)
    if explain:
        try:
            import shap  # noqa: F401
        except ImportError as exc:
            raise DataError(f"Explaining needs shap ({exc.name} is not installed): pip install shap") from exc
        background = background_for(model, predictor)
    report, out = None, Path(out)
    with replacing(out) as temporary, open(temporary, "w", encoding="utf-8", newline="") as sink:
        for chunk in chunks:
            report = predictor.check_schema(chunk, report)
            result = predictor.predict(chunk, first_row=report.rows - len(chunk) + 1)
            if explain:
                result = predict_with_reasons(predictor, background, chunk, result, echo, report.rows - len(chunk))
            sink.write(csv_text(result, header=report.rows == len(chunk)))  # formula-like text cells neutralised
        sink.flush()
        os.fsync(sink.fileno())
    echo(report.summary())
    seconds = time.perf_counter() - started
    echo(f"wrote {report.rows:,} predictions to {out} in {seconds:.1f} s ({report.rows / seconds:,.0f} rows/s)")
    return report
