"""The recipe behind ``chainrule train``: named datasets split three ways, an MLP from a
config, standardization, and the optimizer/scheduler by name. Usable from Python too.

    >>> data = load_splits("digits", seed=0)
    >>> model = build_mlp(data.num_features, [128, 64], data.num_classes, batch_norm=True)
    >>> len(data.train[0]) + len(data.val[0]) + len(data.test[0])
    1797
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend, nn, optim
from ..data import datasets
from ..data.dataset import stratified_split
from ..tensor import _make

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
               "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def build_mlp(in_features, hidden, classes, activation="relu", dropout=0.0, batch_norm=False):
    """``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` per hidden size, then a Linear.

        >>> build_mlp(64, [32], 10, dropout=0.1)
        Sequential(
          (0): Linear(in_features=64, out_features=32, bias=True)
          (1): ReLU()
          (2): Dropout(p=0.1, inplace=False)
          (3): Linear(in_features=32, out_features=10, bias=True)
        )
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if any(int(h) < 1 for h in hidden):
        raise ValueError(f"hidden sizes must be positive, got {list(hidden)}")
    layers, width = [], int(in_features)
    for size in hidden:
        layers.append(nn.Linear(width, int(size)))
        if batch_norm:
            layers.append(nn.BatchNorm1d(int(size)))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    layers.append(nn.Linear(width, int(classes)))
    return nn.Sequential(*layers)


def mlp_state_shapes(in_features, hidden, classes, activation="relu", dropout=0.0,
                     batch_norm=False) -> dict:
    """The ``state_dict()`` shapes of ``build_mlp(...)``, computed without building it, so that
    sizes read from a file are checked against a weights file before anything is allocated.

        >>> mlp_state_shapes(64, [32], 10)
        {'0.weight': (32, 64), '0.bias': (32,), '2.weight': (10, 32), '2.bias': (10,)}
    """
    def size(value, what):
        if type(value) is not int or value < 1:
            raise ValueError(f"the model's {what} must be a positive integer, got {value!r}")
        return value

    if not isinstance(hidden, (list, tuple)):
        raise ValueError(f"the model's hidden sizes must be a list, got {hidden!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}")
    if type(dropout) not in (int, float) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if type(batch_norm) is not bool:
        raise ValueError(f"batch_norm must be true or false, got {batch_norm!r}")
    shapes, index, width = {}, 0, size(in_features, "in_features")
    for h in hidden:
        h = size(h, "hidden sizes")
        shapes.update({f"{index}.weight": (h, width), f"{index}.bias": (h,)})
        if batch_norm:
            shapes.update({f"{index + 1}.{name}": (h,)
                           for name in ("weight", "bias", "running_mean", "running_var")})
            shapes[f"{index + 1}.num_batches_tracked"] = ()
        # Linear, [BatchNorm1d], activation, [Dropout]: the layers build_mlp stacks.
        index += 2 + bool(batch_norm) + (dropout > 0)
        width = h
    shapes.update({f"{index}.weight": (size(classes, "classes"), width),
                   f"{index}.bias": (classes,)})
    return shapes


def build_model(model_config: dict):
    """The model of a run's ``model`` config: the MLP, or the CNN (``"model": "cnn"``)."""
    config = dict(model_config)
    if config.pop("model", "mlp") == "cnn":
        from .cnn import build_cnn  # noqa: PLC0415
        return build_cnn(config["image_shape"], config["classes"],
                         hidden=config["hidden"][-1] if config["hidden"] else 128,
                         dropout=config["dropout"])
    config.pop("image_shape", None)
    return build_mlp(**config)


def model_state_shapes(model_config: dict) -> dict:
    """The ``state_dict()`` shapes of ``build_model(model_config)``, without building it."""
    config = dict(model_config)
    if config.pop("model", "mlp") == "cnn":
        from .cnn import cnn_state_shapes  # noqa: PLC0415
        return cnn_state_shapes(config.get("image_shape"), config.get("classes"),
                                hidden=config["hidden"][-1] if config.get("hidden") else 128,
                                dropout=config.get("dropout", 0.0))
    config.pop("image_shape", None)
    return mlp_state_shapes(**config)


@dataclass
class Splits:
    """Train / validation / test arrays of one dataset, and what the labels mean."""

    name: str
    train: tuple
    val: tuple
    test: tuple
    classes: list = field(default_factory=list)

    @property
    def num_features(self) -> int:
        return int(np.prod(self.train[0].shape[1:]))

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _toy_name(spec: str) -> str | None:
    name = spec.replace("-", "_")
    return name if name in datasets.TOY else None


def dataset_names() -> list[str]:
    return ["digits", *sorted(datasets.TOY), "mnist:<folder>", "fashion-mnist:<folder>",
            "csv:<file>"]


def load_splits(spec="digits", seed=0, val_fraction=0.15, test_fraction=0.15, samples=1000,
                noise=None, label_column=-1) -> Splits:
    """Load dataset ``spec`` and cut it, stratified by class with ``seed``, into three parts.

    ``spec``: ``digits``, a toy set (``moons``, ``spirals``, ...: ``samples`` points with
    ``noise``), ``mnist:<folder>`` / ``fashion-mnist:<folder>`` (their own test files; the
    validation part comes out of the training files) or ``csv:<file>`` (``label_column``).
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction + test_fraction}")
    kind, _, arg = spec.partition(":")
    gen = backend.Generator().manual_seed(seed)
    if kind in ("mnist", "fashion-mnist", "fashion_mnist"):
        if not arg:
            raise ValueError(f"dataset {spec!r}: give the folder of the IDX files, "
                             f"e.g. {kind}:~/data/{kind}")
        load = datasets.mnist if kind == "mnist" else datasets.fashion_mnist
        X, y = load(arg, train=True)
        _two_classes_at_least(spec, y)
        test = load(arg, train=False)
        train_idx, val_idx = stratified_split(y, (1 - val_fraction, val_fraction), gen)
        classes = list(datasets.FASHION_CLASSES) if kind != "mnist" else \
            [str(i) for i in range(10)]
        return Splits(kind, (X[train_idx], y[train_idx]), (X[val_idx], y[val_idx]), test,
                      classes)
    if kind == "csv":
        if not arg:
            raise ValueError("dataset 'csv:': give the file, e.g. csv:data/iris.csv")
        X, y, classes = datasets.load_csv(arg, label_column=label_column)
        name = "csv"
    elif spec == "digits":
        X, y = datasets.digits()
        classes, name = [str(i) for i in range(10)], "digits"
    elif _toy_name(spec):
        name = _toy_name(spec)
        kwargs = {} if noise is None else {("std" if name in ("two_clouds", "blobs", "xor")
                                            else "noise"): float(noise)}
        if name == "triangle" and noise is not None:
            raise ValueError("dataset 'triangle' has no noise (its labels are exact)")
        X, y = datasets.TOY[name](int(samples), seed=seed, **kwargs)
        classes = [str(c) for c in range(int(y.numpy().max()) + 1)]
    else:
        raise ValueError(f"unknown dataset {spec!r}; expected one of "
                         f"{', '.join(dataset_names())}")
    _two_classes_at_least(spec, y, classes)
    parts = stratified_split(y, (1 - val_fraction - test_fraction, val_fraction, test_fraction),
                             gen)
    if any(len(p) == 0 for p in parts):
        raise ValueError(f"dataset {spec!r}: {len(y)} samples are too few to split into "
                         f"train/validation/test")
    train, val, test = ((X[p], y[p]) for p in parts)
    return Splits(name, train, val, test, classes)


def _two_classes_at_least(spec, y, classes=None) -> None:
    """A classifier of one class learns nothing and scores 1.0: refuse the data instead."""
    present = np.unique(y.numpy())
    if len(present) < 2:
        which = f" ({classes[int(present[0])]!r})" if classes and len(present) else ""
        raise ValueError(f"dataset {spec!r}: all {len(y)} samples have the same class{which}; "
                         "a classifier needs at least two")


def standardization(X) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of ``X`` (float32); constant features get std 1."""
    data = X.numpy().reshape(len(X), -1)
    mean = data.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = data.std(axis=0, dtype=np.float64).astype(np.float32)
    std[std < 1e-6] = 1.0
    return mean, std


def standardize(X, mean, std):
    """``(X - mean) / std`` feature by feature, flattened to (n, features), float32."""
    data = X.numpy().reshape(len(X), -1)
    return _make((data - np.asarray(mean, np.float32)) / np.asarray(std, np.float32))


def make_optimizer(name, params, lr, momentum=0.9, weight_decay=0.0):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                         nesterov=momentum > 0)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def default_epochs(n_train, batch_size, epochs=40, steps=5000):
    """``chainrule train``'s epochs when none are given: ``epochs``, or on a large training
    set as many as take about ``steps`` steps, at least 3 (MNIST's 51,000 images at batch
    64: 6 epochs, where the cosine schedule has run its course; the digits: 40).

        >>> default_epochs(51_000, 64), default_epochs(1_257, 64)
        (6, 40)
    """
    per_epoch = -(-n_train // batch_size)
    return max(3, min(epochs, round(steps / per_epoch)))


def make_scheduler(name, optimizer, epochs, steps_per_epoch, lr):
    from ..optim import lr_scheduler  # noqa: PLC0415

    if name == "none":
        return None
    if name == "step":
        # Two tenfold drops: at a third and at two thirds of the epochs.
        return lr_scheduler.StepLR(optimizer, step_size=max(1, -(-epochs // 3)), gamma=0.1)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if name == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=max(1, epochs),
                                       steps_per_epoch=max(1, steps_per_epoch))
    raise ValueError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}")
