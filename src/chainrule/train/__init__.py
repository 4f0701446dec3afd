"""Training: the fit loop, evaluation, metrics, callbacks, checkpoints and plots.

    >>> from chainrule import train
    >>> history = train.fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=20,
    ...                     callbacks=[train.EarlyStopping(patience=3)])   # doctest: +SKIP
    >>> history.plot("curves.png")                                          # doctest: +SKIP
"""

from .callbacks import (  # noqa: F401
    Callback, EarlyStopping, EpochLogger, FullCheckpoint, ModelCheckpoint,
)
from .checkpoint import load_state, load_weights, save_state, save_weights  # noqa: F401
from .fit import Run, evaluate, fit  # noqa: F401
from .history import History  # noqa: F401
from .metrics import METRICS, accuracy, error_rate, predictions  # noqa: F401
from .plots import plot_decision_boundary, plot_history  # noqa: F401

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
