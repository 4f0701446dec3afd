"""Jupyter shows a Tensor that has a graph as the graph: installed on Tensor when ``cr.viz``
is imported, so that the core never imports viz.

    >>> import chainrule.viz
    >>> hasattr(cr.Tensor, "_repr_svg_")
    True
"""

from __future__ import annotations

from ..tensor import Tensor
from .dot import render_svg


def tensor_repr_svg(tensor):
    """The graph of ``tensor`` as SVG, or None (a leaf, a graph too big, no renderer)."""
    if tensor.grad_fn is None:
        return None
    try:
        return render_svg(tensor)
    except Exception:  # noqa: BLE001 - no drawing is better than a broken notebook cell
        return None


def install():
    Tensor._repr_svg_ = tensor_repr_svg
