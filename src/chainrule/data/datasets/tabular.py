"""A classification table from a CSV file: numeric feature columns and one label column.

    >>> _ = open("iris.csv", "w").write("sepal_length,petal_length,species\\n5.1,1.4,setosa\\n"
    ...                                 "7.0,4.7,versicolor\\n6.3,6.0,virginica\\n")
    >>> X, y, classes = load_csv("iris.csv", label_column="species")
    >>> X.shape, y, classes
    (chainrule.Size([3, 2]), tensor([0, 1, 2]), ['setosa', 'versicolor', 'virginica'])
"""

from __future__ import annotations

import csv
import io
import os
import stat

import numpy as np

from ...tensor import _make


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_rows(path, delimiter):
    """The non-empty rows of a UTF-8 CSV file (a byte-order mark, as Excel's "CSV UTF-8"
    writes, is dropped); anything else -- a special file, binary or Latin-1 content, a field
    over csv's 128 KB limit -- is a ValueError naming the file."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise ValueError(f"load_csv: {path} is not a regular file")
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        raise ValueError(f"load_csv: {path} is a binary file (it holds NUL bytes), not CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"load_csv: {path} line {line} is not UTF-8 text (byte "
                         f"0x{data[exc.start]:02x}, e.g. Latin-1); save the file as UTF-8, "
                         "such as Excel's \"CSV UTF-8\"") from None
    del data
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [row for row in reader if row]
    except csv.Error as exc:  # e.g. "field larger than field limit (131072)"
        raise ValueError(f"load_csv: {path} line {reader.line_num}: {exc}") from None


def load_csv(path, label_column=-1, delimiter=",", header=None):
    """``(X, y, classes)`` from a CSV file.

    Args:
        label_column: the label column's name (needs a header row) or index (``-1``: last).
        header: ``True``/``False``, or ``None`` to guess (a first row with a non-number).

    ``X`` is float32 (every other column must be numeric); the labels, numbers or strings,
    become int64 indices into ``classes`` (their sorted distinct values, as strings).
    """
    rows = _read_rows(path, delimiter)
    if not rows:
        raise ValueError(f"load_csv: {path} is empty")
    if header is None:
        header = not all(_is_number(cell) for cell in rows[0])
    names = [c.strip() for c in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"load_csv: {path} has no data rows")
    width = len(names)
    bad = next((i for i, row in enumerate(body) if len(row) != width), None)
    if bad is not None:
        raise ValueError(f"load_csv: {path} row {bad + 1 + bool(header)} has {len(body[bad])} "
                         f"fields, expected {width}")
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if label_column not in names:
            raise ValueError(f"load_csv: no column {label_column!r} in {path}; columns are "
                             f"{names}")
        label = names.index(label_column)
    else:
        label = int(label_column)
        if not -width <= label < width:
            raise ValueError(f"load_csv: label column {label} out of range for {width} columns")
        label %= width
    if width < 2:
        raise ValueError(f"load_csv: {path} needs a label column and at least one feature")
    table = np.array(body, dtype=str)
    labels = np.char.strip(table[:, label])
    features = np.delete(table, label, axis=1)
    try:
        X = features.astype(np.float32)
    except ValueError as exc:
        raise ValueError(f"load_csv: {path} has a non-numeric feature value ({exc})") from None
    if not np.isfinite(X).all():
        raise ValueError(f"load_csv: {path} has missing or infinite feature values")
    if all(_is_number(v) for v in np.unique(labels)):
        numeric = labels.astype(np.float64)
        values = np.unique(numeric)
        y = np.searchsorted(values, numeric)
        classes = [format(v, "g") for v in values]
    else:
        values, y = np.unique(labels, return_inverse=True)
        classes = [str(v) for v in values]
    return _make(np.ascontiguousarray(X)), _make(y.astype(np.int64)), classes
