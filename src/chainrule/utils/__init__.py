"""PyTorch's ``torch.utils`` names: ``chainrule.utils.data`` is ``torch.utils.data``.

    >>> import chainrule as torch
    >>> from chainrule.utils.data import DataLoader, TensorDataset
    >>> torch.utils.data.DataLoader is DataLoader
    True
"""

from . import data  # noqa: F401
