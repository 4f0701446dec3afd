"""Training: the fit loop, evaluation, metrics, callbacks, checkpoints and plots.

    >>> from chainrule import train
    >>> from chainrule.data import DataLoader, TensorDataset, datasets
    >>> X, y = datasets.moons(200, noise=0.1, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    >>> history = train.fit(model, nn.CrossEntropyLoss(), cr.optim.Adam(model.parameters()),
    ...                     loader, epochs=5, callbacks=[train.EarlyStopping("loss", patience=3)])
    >>> len(history["loss"])
    5
    >>> history.plot("curves.png")
    <Figure size 1000x400 with 2 Axes>
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
