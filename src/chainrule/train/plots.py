"""Pictures of training: loss/accuracy curves and 2-D decision boundaries.

matplotlib is imported here only, lazily, and drawn off-screen (the Agg canvas): no window,
and the user's pyplot backend is left alone.

    >>> from chainrule.data import datasets
    >>> X, y = datasets.moons(100, noise=0.1, seed=0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> plot_decision_boundary(model, X, y, "boundary.png")     # history.plot draws curves
    <Figure size 550x500 with 1 Axes>
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..io.atomic import atomic_write


def _figure(ncols: int, width: float = 5.0, height: float = 4.0):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'chainrule[plot]'") from exc
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def save_figure(fig, path) -> None:
    """Write ``fig`` atomically (``io.atomic_write``: the picture appears complete or not at
    all); the format is the file's suffix (``.png`` if it has none)."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    with atomic_write(path, who="plot") as f:
        fig.savefig(f, dpi=110, format=fmt)


def plot_history(history, path=None, metric: str | None = None):
    """Train vs validation curves of loss and of ``metric`` (default: accuracy if recorded)."""
    if metric is None:
        metric = next((k for k in ("accuracy", "error_rate") if k in history), None)
        if metric is None:  # any other recorded training metric
            metric = next((k for k in history.keys()
                           if not k.startswith("val_") and k not in ("loss", "lr", "time")), None)
    panels = ["loss"] + ([metric] if metric else [])
    fig, axes = _figure(len(panels))
    epochs = np.asarray(history.epochs) + 1
    # One marker on every panel: the epoch early stopping on val_loss would keep.
    has_val = "val_loss" in history and any(not math.isnan(v) for v in history["val_loss"])
    best = history.best_epoch("val_loss") if has_val else None
    for ax, name in zip(axes, panels):
        for key, label, style in ((name, "train", "-"), ("val_" + name, "validation", "--")):
            if key in history:
                ax.plot(epochs, history[key], style, marker="o", markersize=3, label=label)
        if best is not None:
            ax.axvline(best + 1, color="gray", linestyle=":", linewidth=1,
                       label=f"lowest validation loss (epoch {best + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name}: train vs validation")
        ax.grid(alpha=0.3)
        ax.legend()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_decision_boundary(model, X, y, path=None, resolution: int = 200, margin: float = 0.5,
                           title: str | None = None):
    """Color the plane by the class ``model`` predicts and scatter the points ``(X, y)`` on it.

    ``X`` has two features; ``model`` maps (n, 2) float32 inputs to logits (one output for
    a binary model, one per class otherwise). Runs the model in eval mode without a graph.
    """
    from .. import autograd  # noqa: PLC0415
    from ..tensor import Tensor, _make  # noqa: PLC0415
    from .metrics import predictions  # noqa: PLC0415

    X = np.asarray(X._array if isinstance(X, Tensor) else X)
    y = np.asarray(y._array if isinstance(y, Tensor) else y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2), got {X.shape}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with autograd.no_grad():
            out = model(_make(grid))
    finally:
        if was_training:
            model.train()
    out = np.asarray(out._array if isinstance(out, Tensor) else out)
    pred = predictions(out, y).reshape(gx.shape)
    fig, (ax,) = _figure(1, 5.5, 5.0)
    from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: PLC0415

    classes = np.unique(np.concatenate([np.unique(y), np.unique(pred)]))
    # One color per class, the same for the regions and the points.
    palette = ["#3b6fd6", "#d6453b"] if len(classes) == 2 else \
        [f"C{i % 10}" for i in range(len(classes))]
    cmap = ListedColormap(palette)
    norm = BoundaryNorm(np.concatenate([classes - 0.5, [classes[-1] + 0.5]]), len(classes))
    ax.contourf(gx, gy, pred, levels=norm.boundaries, cmap=cmap, norm=norm, alpha=0.25)
    scatter = ax.scatter(X[:, 0], X[:, 1], c=y, s=12, edgecolors="k", linewidths=0.3,
                         cmap=cmap, norm=norm)
    ax.legend(*scatter.legend_elements(), title="class", loc="best")
    ax.set_title(title or "decision boundary")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if path is not None:
        save_figure(fig, path)
    return fig
