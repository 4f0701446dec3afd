"""Optimizers and learning-rate schedules: ``torch.optim``'s names, arguments and numbers.

    >>> _ = cr.manual_seed(0)
    >>> model = nn.Linear(2, 1)
    >>> x = cr.randn(64, 2)
    >>> y = x @ cr.tensor([[2.0], [-1.0]]) + 0.5
    >>> opt = cr.optim.AdamW(model.parameters(), lr=0.1)
    >>> sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=200)
    >>> for step in range(200):
    ...     opt.zero_grad()
    ...     loss = F.mse_loss(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     sched.step()
    >>> print(f"{loss:.4f}", model.weight.data, model.bias.data)  # y = 2 x0 - x1 + 0.5
    0.0001 tensor([[ 1.9910, -0.9984]]) tensor([0.5004])
"""

from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .radam import RAdam  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .sgd import SGD  # noqa: F401
from .sparse_adam import SparseAdam  # noqa: F401

__all__ = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler"]
