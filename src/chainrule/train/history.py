"""History: what ``fit`` measured at the end of every epoch.

    >>> h = History()
    >>> h.append(0, {"loss": 0.9, "val_loss": 1.0})
    >>> h.append(1, {"loss": 0.5, "val_loss": 0.7})
    >>> h["val_loss"], h.best_epoch("val_loss")
    ([1.0, 0.7], 1)
"""

from __future__ import annotations

import math


def mode_of(monitor: str) -> str:
    """'min' for losses and errors, 'max' for anything else (accuracy, ...)."""
    name = monitor.removeprefix("val_")
    return "min" if "loss" in name or "error" in name else "max"


class History:
    """Per-epoch logs: ``history["loss"]``, ``history["val_accuracy"]``, ``history.epochs``."""

    def __init__(self):
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: dict) -> None:
        n = len(self.epochs)
        for key, value in logs.items():
            # A key first seen late gets NaN for the epochs before it (kept rectangular).
            self.history.setdefault(key, [math.nan] * n).append(float(value))
        for key, values in self.history.items():
            if len(values) == n:
                values.append(math.nan)
        self.epochs.append(int(epoch))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.history:
            raise KeyError(f"History: no {key!r}; recorded: {sorted(self.history)}")
        return self.history[key]

    def __contains__(self, key) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self):
        return self.history.keys()

    def last(self) -> dict:
        """The logs of the last epoch."""
        return {k: v[-1] for k, v in self.history.items()} if self.epochs else {}

    def best_epoch(self, monitor: str = "val_loss", mode: str = "auto") -> int:
        """The epoch whose ``monitor`` was best (lowest loss, highest accuracy)."""
        values = self[monitor]
        mode = mode_of(monitor) if mode == "auto" else mode
        finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
        if not finite:
            raise ValueError(f"History: {monitor!r} has no values")
        pick = min(finite) if mode == "min" else max(finite, key=lambda t: (t[0], -t[1]))
        return self.epochs[pick[1]]

    def to_dict(self) -> dict:
        return {"epochs": list(self.epochs), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        h = cls()
        h.epochs = [int(e) for e in data.get("epochs", [])]
        h.history = {k: [float(x) for x in v] for k, v in data.items() if k != "epochs"}
        return h

    def plot(self, path=None, metric: str | None = None):
        """Train vs validation loss (and ``metric``, accuracy by default) per epoch.

        Saves to ``path`` when given (PNG, SVG, PDF by extension) and returns the
        matplotlib Figure. Needs matplotlib (``pip install 'chainrule[plot]'``).
        """
        from .plots import plot_history  # noqa: PLC0415 - matplotlib is optional and slow

        return plot_history(self, path, metric=metric)

    def __repr__(self):
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({len(self)} epochs; last: {last})"
