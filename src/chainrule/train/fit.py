"""The training loop: ``fit`` a model for some epochs, ``evaluate`` it on a loader.

    >>> from chainrule.data import DataLoader, TensorDataset, datasets
    >>> from chainrule.train import EarlyStopping
    >>> _ = cr.manual_seed(0)
    >>> X, y = datasets.moons(200, noise=0.1, seed=0)
    >>> Xv, yv = datasets.moons(100, noise=0.1, seed=1)
    >>> train_loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> val_loader = DataLoader(TensorDataset(Xv, yv), batch_size=100)
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    >>> opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    >>> history = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader,
    ...               epochs=50, callbacks=[EarlyStopping(patience=5)])
    >>> history["val_accuracy"][-1]
    0.98

Each epoch: ``model.train()``, then per batch ``zero_grad -> forward -> loss -> backward ->
step`` (and a per-batch scheduler step); then ``model.eval()`` under ``no_grad`` for the
validation pass; then the per-epoch scheduler step, the callbacks, and the checkpoint.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .. import autograd, backend
from ..tensor import Tensor
from .callbacks import Callback, FullCheckpoint
from .checkpoint import load_state
from .history import History
from .metrics import resolve


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise TypeError(f"fit/evaluate: a batch must be (inputs, targets), got "
                    f"{type(batch).__name__} of {len(batch) if hasattr(batch, '__len__') else '?'}")


def _raw(x):
    if isinstance(x, Tensor):
        return x._array
    return x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)


class _Meter:
    """Size-weighted running means of the loss and the metrics over one pass."""

    def __init__(self, metric_fns):
        self.metric_fns = metric_fns
        self.count = 0
        self.sums = {"loss": 0.0, **{name: 0.0 for name in metric_fns}}

    def update(self, loss_value, output, target):
        n = len(_raw(target))
        self.count += n
        if loss_value is not None:
            self.sums["loss"] += loss_value * n
        if self.metric_fns:
            out, tgt = _raw(output), _raw(target)
            for name, fn in self.metric_fns.items():
                self.sums[name] += float(fn(out, tgt)) * n

    def means(self, with_loss=True) -> dict:
        n = max(self.count, 1)
        return {k: v / n for k, v in self.sums.items() if with_loss or k != "loss"}


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",)) -> dict:
    """Mean loss (when ``loss_fn`` is given) and ``metrics`` of ``model`` over ``loader``.

    Runs in eval mode (dropout off, batch norm on running statistics) without building a
    graph, and puts the model back in the mode it was in.

        >>> from chainrule.data import DataLoader, TensorDataset
        >>> model = nn.Linear(2, 2)
        >>> _ = nn.init.eye_(model.weight), nn.init.zeros_(model.bias)   # predicts argmax(x)
        >>> loader = DataLoader(TensorDataset(cr.tensor([[2.0, 0.0], [0.0, 1.0]]),
        ...                                   cr.tensor([0, 0])), batch_size=2)
        >>> evaluate(model, loader, nn.CrossEntropyLoss())
        {'loss': 0.7..., 'accuracy': 0.5}
    """
    meter = _Meter(resolve(metrics))
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with autograd.no_grad():
            for batch in loader:
                inputs, target = _split_batch(batch)
                output = model(inputs)
                loss = None if loss_fn is None else float(loss_fn(output, target).item())
                meter.update(loss, output, target)
    finally:
        model.train(was_training)
    if meter.count == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return meter.means(with_loss=loss_fn is not None)


class Run:
    """What callbacks see of a training run (and what a checkpoint is made of)."""

    def __init__(self, model, optimizer, scheduler, train_loader, val_loader, epochs, callbacks,
                 history):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.train_loader, self.val_loader = train_loader, val_loader
        self.epochs, self.callbacks, self.history = epochs, callbacks, history
        self.epoch = -1  # the last finished epoch
        self.stop_training = False

    def _generators(self) -> dict:
        found = {"default": backend.default_generator}
        for name, loader in (("train_loader", self.train_loader), ("val_loader", self.val_loader)):
            gen = getattr(loader, "generator", None)
            if gen is not None:
                found[name] = gen
        return found

    def _stateful(self) -> list:
        """The callbacks with state to keep (loggers and the like have none)."""
        return [cb for cb in self.callbacks if cb.state_dict()]

    def training_state(self) -> dict:
        """Everything a resumed run needs to continue bit for bit."""
        return {
            "epoch": self.epoch,
            "stopped": self.stop_training,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "history": self.history.to_dict(),
            "callbacks": [[type(cb).__name__, cb.state_dict()] for cb in self._stateful()],
            "rng": {name: gen.get_state() for name, gen in self._generators().items()},
        }

    def load_training_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("fit: resume_from: the checkpoint was written "
                             + ("without" if state["scheduler"] is None else "with")
                             + " a scheduler, this run has "
                             + ("one" if self.scheduler is not None else "none"))
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        saved, stateful = state["callbacks"], self._stateful()
        names = [name for name, _ in saved]
        if names != [type(cb).__name__ for cb in stateful]:
            raise ValueError(f"fit: resume_from: the checkpoint holds the state of callbacks "
                             f"{names}, this run has {[type(cb).__name__ for cb in stateful]}")
        for cb, (_, cb_state) in zip(stateful, saved):
            cb.load_state_dict(cb_state)
        generators = self._generators()
        for name, gen_state in state["rng"].items():
            if name in generators:
                generators[name].set_state(gen_state)
        restored = History.from_dict(state["history"])
        self.history.epochs, self.history.history = restored.epochs, restored.history
        self.epoch = int(state["epoch"])
        self.stop_training = bool(state["stopped"])


def _progress_bar(total, desc, enabled):
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm  # noqa: PLC0415 - optional ([progress] extra)
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True, file=sys.stderr)


def _scheduler_mode(scheduler, scheduler_step):
    if scheduler is None:
        return None
    if scheduler_step == "auto":
        # Each scheduler says how often it steps (OneCycleLR, CyclicLR: every batch).
        return getattr(scheduler, "steps_per", "epoch")
    if scheduler_step not in ("batch", "epoch"):
        raise ValueError(f"fit: scheduler_step must be 'auto', 'batch' or 'epoch', "
                         f"got {scheduler_step!r}")
    return scheduler_step


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=10,
        metrics=("accuracy",), callbacks=(), scheduler=None, progress=True, resume_from=None,
        checkpoint=None, scheduler_step="auto", clip_grad_norm=None,
        compile=False) -> History:  # noqa: A002 - the option's name, as torch.compile
    """Train ``model`` for ``epochs`` epochs and return the ``History`` of every epoch.

    Args:
        model: a ``nn.Module``; ``model(inputs)`` gives what ``loss_fn(output, targets)`` takes.
        loss_fn: e.g. ``nn.CrossEntropyLoss()``; its value must be the batch mean.
        optimizer: e.g. ``optim.AdamW(model.parameters(), lr=1e-3)``.
        train_loader / val_loader: iterables of ``(inputs, targets)`` batches.
        metrics: names (``"accuracy"``) or functions ``(output, target) -> float``.
        callbacks: e.g. ``EarlyStopping``, ``ModelCheckpoint``, ``EpochLogger``.
        scheduler: an lr scheduler, stepped as its ``steps_per`` says: per batch for
            OneCycleLR/CyclicLR, per epoch otherwise (``scheduler_step`` forces one); one
            with ``needs_metric`` (ReduceLROnPlateau) gets the monitored value (``val_loss``,
            else ``loss``).
        progress: a tqdm bar with the running loss (only when stderr is a terminal).
        checkpoint: a path; the whole training state is written there after every epoch.
        resume_from: a path written by ``checkpoint``; training continues after its last
            epoch and ends with exactly the weights of an uninterrupted run.
        clip_grad_norm: rescale the gradients so that their global 2-norm is at most this
            (``nn.utils.clip_grad_norm_``) before each step.
        compile: run each batch's training step (zero_grad, forward, loss, backward,
            clipping, optimizer step) through ``cr.compile``: captured at the first batch
            (and at a batch of another size), replayed after; the History is the same.

    History keys: ``loss``, each metric, ``val_loss`` and ``val_<metric>`` with a
    ``val_loader``, and ``lr`` (the first parameter group's learning rate in that epoch).
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    metric_fns = resolve(metrics)
    callbacks = list(callbacks)
    if any(not isinstance(cb, Callback) for cb in callbacks):
        raise TypeError("fit: callbacks must be chainrule.train.Callback instances")
    if checkpoint is not None:
        callbacks.append(FullCheckpoint(checkpoint))
    step_mode = _scheduler_mode(scheduler, scheduler_step)
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"fit: clip_grad_norm must be > 0, got {clip_grad_norm}")
    history = History()
    run = Run(model, optimizer, scheduler, train_loader, val_loader, epochs, callbacks, history)
    if resume_from is not None:
        run.load_training_state(load_state(resume_from))

    train_step = _train_step(model, loss_fn, optimizer, clip_grad_norm, compile)
    for cb in callbacks:
        cb.on_train_begin(run)
    epoch = run.epoch + 1
    while epoch < epochs and not run.stop_training:
        for cb in callbacks:
            cb.on_epoch_begin(epoch, run)
        start = time.perf_counter()
        total = len(train_loader) if hasattr(train_loader, "__len__") else None
        bar = _progress_bar(total, f"epoch {epoch + 1}/{epochs}", progress)
        try:
            logs = _train_epoch(run, metric_fns, step_mode, epoch, bar, train_step)
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn, tuple(metric_fns.values()))
                logs.update({"val_" + k: v for k, v in val.items()})
            if bar is not None:  # the finished bar keeps the epoch's numbers on screen
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
        finally:
            if bar is not None:
                bar.close()
        logs["lr"] = float(optimizer.param_groups[0]["lr"])
        if step_mode == "epoch":
            if getattr(scheduler, "needs_metric", False):  # e.g. ReduceLROnPlateau
                scheduler.step(logs.get("val_loss", logs["loss"]))
            else:
                scheduler.step()
        logs["time"] = time.perf_counter() - start
        history.append(epoch, logs)
        run.epoch = epoch
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs, run)
        epoch += 1
    for cb in callbacks:
        cb.on_train_end(run)
    return history


def _train_step(model, loss_fn, optimizer, clip_grad_norm, compiled):
    """One batch's step, ``(inputs, target) -> (loss, output)``; through ``cr.compile``
    when ``compiled``."""
    if clip_grad_norm is not None:
        from ..nn.utils import clip_grad_norm_  # noqa: PLC0415 - nn sits above train's imports
        params = [p for p in model.parameters() if p.requires_grad]

    def train_step(inputs, target):
        optimizer.zero_grad()
        output = model(inputs)
        loss = loss_fn(output, target)
        loss.backward()
        if clip_grad_norm is not None:
            clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        return loss, output

    if not compiled:
        return train_step
    from ..static.compile import compile as compile_step  # noqa: PLC0415 - loaded on use
    return compile_step(train_step)


def _train_epoch(run, metric_fns, step_mode, epoch, bar, train_step) -> dict:
    model, scheduler = run.model, run.scheduler
    meter = _Meter(metric_fns)
    model.train()
    for i, batch in enumerate(run.train_loader):
        inputs, target = _split_batch(batch)
        loss, output = train_step(inputs, target)
        if step_mode == "batch":
            scheduler.step()
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(
                f"fit: the loss became {value} at epoch {epoch + 1}, batch {i + 1}; "
                f"try a smaller learning rate")
        # The output is read after the step, but its array was computed before it.
        meter.update(value, output.detach(), target)
        # Drop this step's tensors now, not when the next forward rebinds the names.
        del batch, inputs, output, loss
        for cb in run.callbacks:
            cb.on_batch_end(i, value, run)
        if bar is not None:
            bar.update(1)
            if i % 5 == 0:
                bar.set_postfix(loss=f"{meter.sums['loss'] / meter.count:.4f}", refresh=False)
    if meter.count == 0:
        raise ValueError("fit: the training loader yielded no samples")
    return meter.means()
