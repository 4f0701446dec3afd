"""PyTorch's ``torch.utils`` names: ``chainrule.utils.data`` is ``torch.utils.data``.

    >>> import chainrule as torch
    >>> from chainrule.utils.data import DataLoader, TensorDataset
    >>> torch.utils.data.DataLoader is DataLoader
    True
"""

from . import data  # noqa: F401

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it) and the
# public submodules.
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
    | {"data"}
)
