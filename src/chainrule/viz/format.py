"""How numbers, arrays and constants are written in pictures and transcripts.

    >>> number(-12.0), number(0.7310586), array(np.array([1.0, -2.5]), 4)
    ('-12', '0.7311', '[1, -2.5]')
"""

from __future__ import annotations

import numpy as np

from .. import backend


def host(a) -> np.ndarray:
    """``a`` (an array of any device, or numbers) as a NumPy array on the host, for display."""
    if hasattr(a, "shape") and type(a) is not np.ndarray:
        a = backend.to_device(a, "cpu")
    return np.asarray(a)


def number(v) -> str:
    """Four significant digits, no trailing zeros: -12, 0.7311, 1.5e-07."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, int):
        return str(v)
    s = f"{v:.4g}"
    return "0" if s == "-0" else s


def norm(a: np.ndarray) -> float:
    a = host(a)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    return float(np.sqrt(np.sum(np.abs(a) ** 2)))


def array(a, max_elems: int) -> str:
    """The values on one line when there are at most ``max_elems`` of them, else the norm."""
    a = host(a)
    if a.size == 1:
        return number(a.reshape(()).item())
    if a.size <= max_elems:
        text = np.array2string(a, separator=", ", formatter={"all": number},
                               max_line_width=1 << 30)
        return " ".join(text.split())   # rows of a matrix: "[[1, 2], [3, 4]]"
    return f"‖·‖={number(norm(a))}"


def shape(s) -> str:
    s = tuple(s)
    return "(" + ", ".join(str(n) for n in s) + ("," if len(s) == 1 else "") + ")"


def constant(c) -> str:
    """A non-tensor argument of an op, short: 2, (0, 1), 'mean', array(4, 3)."""
    if isinstance(c, np.ndarray):
        return number(c.item()) if c.size == 1 else f"array{shape(c.shape)}"
    if isinstance(c, (int, float, np.generic)):
        return number(c)
    if isinstance(c, str):
        return repr(c)
    text = repr(c)
    return text if len(text) <= 24 else text[:21] + "..."
