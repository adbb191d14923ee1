"""Checks a dataset must pass before anything is trained, logged or registered.

Every problem is reported, not just the first, each with its row number and reason.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandas as pd

from model.taxonomy import Taxonomy


@dataclass(frozen=True)
class Problem:
    reason: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = " ".join(p for p in (f"row {self.row}" if self.row else "", self.column or "") if p)
        return f"{where}: {self.reason}" if where else self.reason


class ValidationFailed(ValueError):
    def __init__(self, problems: list[Problem], source: str = "dataset"):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:200])
        more = f"\n  … and {len(problems) - 200} more" if len(problems) > 200 else ""
        super().__init__(f"{source}: {len(problems)} problem(s), nothing was trained:\n{shown}{more}")


MAX_TEXT_CHARS = 20_000  # the same limit the prediction API applies


def _unknown_label(value: object, allowed: tuple[str, ...], column: str) -> str:
    tidy = str(value).strip().lower()
    if tidy in allowed:
        return f"{column} label {value!r} has stray spaces or capitals; write it exactly {tidy!r}"
    hint = difflib.get_close_matches(str(value), allowed, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"{column} label {value!r} is not in the taxonomy{suggestion}"


def validate(
    frame: pd.DataFrame,
    taxonomy: Taxonomy,
    *,
    min_class_count: int = 0,
    check_duplicates: bool = True,
) -> list[Problem]:
    """Return every problem in a canonical frame (see `training.data.load_dataset`)."""
    problems: list[Problem] = []
    if frame.empty:
        return [Problem("the file has a header but no complaints")]
    text = frame["text"].map(lambda t: t if isinstance(t, str) else "")
    label_columns = [c for c in ("opd", "urgency") if c in frame.columns]
    allowed = {"opd": taxonomy.codes, "urgency": taxonomy.urgency_levels}

    for i, row in frame.iterrows():
        if not text[i].strip():
            problems.append(Problem("text is empty or whitespace only", row["row"], "text"))
        elif len(text[i]) > MAX_TEXT_CHARS:
            problems.append(
                Problem(f"text has {len(text[i])} characters, more than {MAX_TEXT_CHARS}", row["row"], "text")
            )
        for column in label_columns:
            value = row[column]
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(f"{column} label is missing", row["row"], column))
            elif value not in allowed[column]:
                problems.append(Problem(_unknown_label(value, allowed[column], column), row["row"], column))

    if "date" in frame.columns:
        parsed = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
        for i in frame.index[parsed.isna()]:
            problems.append(Problem(f"date {frame.at[i, 'date']!r} is not a date", frame.at[i, "row"], "date"))

    if check_duplicates:
        problems += _duplicate_problems(frame, text.str.strip(), label_columns)

    if min_class_count:
        for column in label_columns:
            counts = frame[column][frame[column].isin(allowed[column])].value_counts()
            for label, count in counts[counts < min_class_count].items():
                problems.append(
                    Problem(
                        f"class {label!r} has {count} example(s), fewer than the minimum {min_class_count}",
                        column=column,
                    )
                )
    return sorted(problems, key=lambda p: (p.row or 0, p.column or ""))


def _duplicate_problems(frame: pd.DataFrame, text: pd.Series, label_columns: list[str]) -> list[Problem]:
    problems = []
    first_row: dict[str, int] = {}
    labels_at: dict[str, tuple] = {}
    for i, t in text.items():
        if not t:
            continue
        labels = tuple(frame.at[i, c] for c in label_columns)
        row = frame.at[i, "row"]
        if t not in first_row:
            first_row[t], labels_at[t] = row, labels
        elif labels == labels_at[t]:
            problems.append(Problem(f"exact duplicate of row {first_row[t]}", row, "text"))
        else:
            problems.append(
                Problem(
                    f"same text as row {first_row[t]} but conflicting labels "
                    f"{dict(zip(label_columns, labels, strict=True))} vs "
                    f"{dict(zip(label_columns, labels_at[t], strict=True))}",
                    row,
                    "text",
                )
            )
    return problems


def drop_exact_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep the first of rows whose stripped text and labels are identical; conflicts stay for `validate`."""
    key = [frame["text"].astype(str).str.strip()] + [frame[c] for c in ("opd", "urgency") if c in frame.columns]
    duplicated = pd.concat(key, axis=1).duplicated(keep="first")
    return frame[~duplicated].reset_index(drop=True), int(duplicated.sum())
