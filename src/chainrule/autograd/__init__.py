"""Reverse-mode automatic differentiation: nodes, the engine, grad mode, gradient checks.

    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> (g,) = cr.autograd.grad(x ** 3, x)     # 3 x^2 = 12
"""

from .engine import backward, grad  # noqa: F401
from .function import Function, Node, Op  # noqa: F401
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tracing import Program, Step, Value, trace  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: F401
from .diagnose import why_no_grad  # noqa: F401
from .anomaly import (  # noqa: F401
    detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly,
)
from . import functional  # noqa: F401 - jacobian, hessian, vjp, jvp, hvp, vhp
from .variable import Variable  # noqa: F401 - torch's legacy wrapper: a Tensor

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
