"""Reading complaint datasets (CSV, JSONL, Parquet, XLSX) into one canonical frame.

The canonical frame has columns `row` (the row number a person would look up in the source: spreadsheet
row for CSV/XLSX with the header as row 1, line number for JSONL, record number for Parquet), `text`,
`opd`, and when present `urgency` and `date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.paths import CORPUS_PATH

READERS = {
    ".csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False),
    ".jsonl": lambda p: pd.read_json(p, lines=True, dtype=False),
    ".ndjson": lambda p: pd.read_json(p, lines=True, dtype=False),
    ".parquet": pd.read_parquet,
    ".xlsx": lambda p: pd.read_excel(p, dtype=str, keep_default_na=False),
}
# Offset from a 0-based record index to the number a person sees in the file.
ROW_OFFSET = {".csv": 2, ".xlsx": 2, ".jsonl": 1, ".ndjson": 1, ".parquet": 1}


class DataError(ValueError):
    """The file cannot be read as a dataset at all (unknown format, missing columns)."""


@dataclass(frozen=True)
class Columns:
    """Which source column holds each field; `urgency` and `date` are optional."""

    text: str = "text"
    opd: str | None = "opd"
    urgency: str | None = "urgency"
    date: str | None = None


DEFAULT_COLUMNS = Columns()
OPTIONAL = frozenset({"urgency"})


def read_table(path: Path | str) -> pd.DataFrame:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(f"{path}: unsupported format {suffix!r}; use one of {', '.join(READERS)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        frame = READERS[suffix](path)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line} is not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except Exception as exc:  # each reader has its own parse errors; all mean the same to the user
        hint = _delimiter_hint(path) if suffix == ".csv" else ""
        raise DataError(f"{path}: cannot be read as {suffix[1:].upper()}: {exc}.{hint}") from None
    if frame.empty and not len(frame.columns):
        raise DataError(f"{path}: the file is empty")
    frame.insert(0, "row", range(ROW_OFFSET[suffix], ROW_OFFSET[suffix] + len(frame)))
    return frame


def _delimiter_hint(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    if "," not in header and any(sep in header for sep in ";\t|"):
        return " Its header is separated by ';', tab or '|': CSV files must be comma-separated."
    return ""


def load_dataset(
    path: Path | str = CORPUS_PATH, columns: Columns = DEFAULT_COLUMNS, *, optional: frozenset[str] = OPTIONAL
) -> pd.DataFrame:
    """Read `path` and rename the mapped columns to the canonical names.

    A mapped column named in `optional` that is absent is left out silently (by default `urgency`:
    datasets without urgency train the routing head only); any other missing column is an error.
    """
    raw = read_table(path)
    wanted = {"text": columns.text, "opd": columns.opd, "urgency": columns.urgency, "date": columns.date}
    for field in optional:
        if wanted[field] and wanted[field] not in raw.columns:
            wanted[field] = None
    missing = [
        f"{field} (column {source!r})" for field, source in wanted.items() if source and source not in raw.columns
    ]
    if missing:
        header = list(raw.columns[1:])
        hint = _delimiter_hint(Path(path)) if len(header) == 1 else ""
        raise DataError(
            f"{path}: missing column(s): {', '.join(missing)}; the file has {header}. "
            f"Map them with --text-col/--opd-col/--urgency-col/--date-col.{hint}"
        )
    frame = pd.DataFrame({"row": raw["row"]})
    for field, source in wanted.items():
        if source:
            frame[field] = raw[source]
    return frame.reset_index(drop=True)
