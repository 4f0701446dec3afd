"""Callbacks: code that runs at fixed moments of ``fit`` (epoch end, train end, ...).

A callback sees the ``run`` (model, optimizer, history, epoch; set ``run.stop_training``
to end after this epoch) and keeps its own state in ``state_dict()`` so that a resumed
run continues exactly where it stopped.

    >>> from chainrule.data import DataLoader, TensorDataset
    >>> from chainrule.train import fit
    >>> x, y = cr.randn(16, 2), cr.randint(0, 2, (16,))
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=16)
    >>> model = nn.Linear(2, 2)
    >>> opt = cr.optim.SGD(model.parameters(), lr=0.0)    # lr 0: the loss can never improve
    >>> stop = EarlyStopping(monitor="loss", patience=2, restore_best=True)
    >>> history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=100, callbacks=[stop])
    >>> len(history["loss"])                              # the best epoch, then 2 more
    3
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .checkpoint import save_state, save_weights
from .history import mode_of


class Callback:
    """Base class; override any of the hooks."""

    def on_train_begin(self, run):
        pass

    def on_epoch_begin(self, epoch, run):
        pass

    def on_batch_end(self, batch, loss, run):
        pass

    def on_epoch_end(self, epoch, logs, run):
        pass

    def on_train_end(self, run):
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _monitored(name, logs, monitor):
    if monitor not in logs:
        raise KeyError(f"{name}: monitor {monitor!r} is not in the epoch's logs "
                       f"{sorted(logs)}; pass a val_loader for 'val_*' keys")
    return float(logs[monitor])


class _Tracker:
    """Which value is best so far, with ``mode`` and ``min_delta`` (shared by the callbacks)."""

    def __init__(self, monitor, mode, min_delta):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.mode = mode_of(monitor) if mode == "auto" else mode
        self.min_delta = float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model gets back the weights of its best epoch when training
    ends (stopped early or not). ``mode`` 'auto' minimizes losses and maximizes the rest.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.tracker = _Tracker(monitor, mode, min_delta)
        self.monitor = monitor
        self.patience = int(patience)
        self.restore_best = bool(restore_best)
        self.wait = 0
        self.stopped_epoch = -1
        self.best_weights = None

    @property
    def best(self):
        return self.tracker.best

    @property
    def best_epoch(self):
        return self.tracker.best_epoch

    def on_epoch_end(self, epoch, logs, run):
        value = _monitored("EarlyStopping", logs, self.monitor)
        if self.tracker.improved(value):
            self.tracker.best, self.tracker.best_epoch = value, epoch
            self.wait = 0
            if self.restore_best:
                self.best_weights = {k: np.array(v._array, copy=True)
                                     for k, v in run.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                run.stop_training = True

    def on_train_end(self, run):
        if self.restore_best and self.best_weights is not None:
            run.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.tracker.best, "best_epoch": self.tracker.best_epoch,
                "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.tracker.best, self.tracker.best_epoch = state["best"], state["best_epoch"]
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class ModelCheckpoint(Callback):
    """Save the model's weights to ``path`` (safetensors) whenever ``monitor`` improves.

    ``save_best_only=False`` saves after every epoch. ``path`` may contain ``{epoch}``.
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True):
        self.path = str(path)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.tracker = _Tracker(monitor, mode, 0.0)
        self.saved = []

    def on_epoch_end(self, epoch, logs, run):
        if self.save_best_only:
            value = _monitored("ModelCheckpoint", logs, self.monitor)
            if not self.tracker.improved(value):
                return
            self.tracker.best, self.tracker.best_epoch = value, epoch
        path = self.path.format(epoch=epoch)
        save_weights(run.model, path)
        self.saved.append(path)

    def state_dict(self):
        return {"best": self.tracker.best, "best_epoch": self.tracker.best_epoch}

    def load_state_dict(self, state):
        self.tracker.best, self.tracker.best_epoch = state["best"], state["best_epoch"]


class EpochLogger(Callback):
    """Print one line per epoch: its number, every log value and the time it took."""

    def __init__(self, file=None):
        self.file = file
        self._start = 0.0

    def on_epoch_begin(self, epoch, run):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs, run):
        values = "  ".join(f"{k} {v:.4f}" if k != "lr" else f"lr {v:.3g}"
                           for k, v in logs.items() if k != "time")
        print(f"epoch {epoch + 1:>3}/{run.epochs}  {values}  "
              f"({time.perf_counter() - self._start:.2f}s)",
              file=self.file or sys.stdout, flush=True)


class FullCheckpoint(Callback):
    """Write the whole training state to ``path`` after every epoch (what ``resume_from`` reads).

    ``fit(..., checkpoint=path)`` adds this callback last, after the others have updated
    their state for the epoch.
    """

    def __init__(self, path):
        self.path = str(path)

    def on_epoch_end(self, epoch, logs, run):
        save_state(run.training_state(), self.path)
