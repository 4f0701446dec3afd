"""How a Tensor prints: PyTorch's layout, so that ``repr(t)`` reads like torch's.

With PyTorch's defaults (4 decimals, 80 columns, more than 1000 elements summarized by
the first and last 3 along each dim):

* A floating tensor's format is chosen from its finite, nonzero values only, so zeros,
  infinities and nans never change how the other numbers look, nor widen the columns:

  - every such value whole: ``2.`` ("int mode"), or scientific when the largest is over
    1e8 or over 1000 times the smallest;
  - else fixed ``1.5000``, or scientific ``1.0000e-05`` when the largest is over 1e8 or
    1000 times the smallest, or the smallest under 1e-4.

  Each element is right-aligned to the widest of those values (a zero, inf or nan is
  padded to that width; ``0.`` and ``-inf`` in int mode keep their own lengths).
* Integers and bools print as Python does, right-aligned to the widest.
* A row holds as many elements as fit in 80 columns after the indent; the rows of a
  matrix are separated by one line break, the blocks of a 3-D tensor by two, and so on.

    >>> print(cr.tensor([0.0, -float("inf"), 2.0]))
    tensor([0., -inf, 2.])
    >>> print(cr.tensor([1.5, float("nan")]))
    tensor([1.5000,    nan])
"""

from __future__ import annotations

import math

import numpy as np

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
SCI_MODE = None  # None: chosen from the values (below); True / False: always / never

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def with_suffixes(text, suffixes, indent):
    """``text`` (the tensor's "tensor(..." so far) with ``suffixes`` (``dtype=...``,
    ``grad_fn=...``) and the closing parenthesis, as torch lays them out: a suffix that would
    take the last line past the line width goes on a line of its own, indented."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """How tensors print from now on, in every thread (as torch's, whose options are global
    too): ``cr.set_printoptions(precision=2)``, ``profile="full"`` (never summarized),
    ``sci_mode=False`` (never scientific; ``None``, each call's default, chooses again).

        >>> cr.set_printoptions(precision=2); print(cr.tensor([1 / 3]))
        tensor([0.33])
        >>> cr.set_printoptions(profile="default")
    """
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    for name, value in (("precision", precision), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 0):
            raise ValueError(f"set_printoptions: {name} must be a non-negative int, got {value!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"set_printoptions: threshold must be a non-negative number, got "
                         f"{threshold!r}")
    PRECISION = PRECISION if precision is None else precision
    THRESHOLD = THRESHOLD if threshold is None else threshold
    EDGEITEMS = EDGEITEMS if edgeitems is None else edgeitems
    LINEWIDTH = LINEWIDTH if linewidth is None else linewidth
    SCI_MODE = None if sci_mode is None else bool(sci_mode)


class _Formatter:
    """The format of one tensor's elements: a mode and a width, chosen from its values."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        flat = flat.astype(np.float64)
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitude = np.abs(shown)
        lo, hi = float(magnitude.min()), float(magnitude.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if SCI_MODE is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        else:
            self.sci_mode = SCI_MODE
        if self.sci_mode:
            texts = [f"{v:.{PRECISION}e}" for v in shown.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in shown.tolist()]
        else:
            texts = [f"{v:.{PRECISION}f}" for v in shown.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, v) -> str:
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = f"{v:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{PRECISION}f}"
        return text.rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements that a summarized print shows (the edges of every dim), for the format."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(row) for row in a])


def _vector(a, indent, summarize, fmt):
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in a[:EDGEITEMS].tolist()] + [" ..."] \
            + [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
    else:
        items = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."] \
            + [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_array(data: np.ndarray, indent: int = len("tensor(")) -> str:
    """The body of a tensor's repr (``[...]``, or the number of a 0-d one), as torch lays
    it out; ``indent`` is the column where the body starts."""
    if data.size == 0:
        return "[]"
    if data.dtype.kind not in "fiub":  # complex: NumPy's layout
        return np.array2string(data, separator=", ", prefix=" " * indent,
                               precision=PRECISION, threshold=THRESHOLD)
    summarize = data.size > THRESHOLD
    fmt = _Formatter(_summarized(data) if summarize else data)
    return _nested(data, indent, summarize, fmt)
