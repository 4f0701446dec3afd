"""Every differentiable op of chainrule, one module per family.

The public functions here are what ``cr.<name>`` and the Tensor methods call. Each op is
an ``Op`` subclass (``autograd.function``) with its forward and backward side by side.
Where each family lives (see docs/contributing.md to add one):

- ``arithmetic``: add sub mul div pow neg, and the dtype rule of binary ops
- ``unary``: exp log sqrt sin abs sign erf ..., clamp maximum minimum where, cast clone
- ``activation``: the elementwise functions with an ``nn`` layer (relu gelu sigmoid tanh ...)
- ``comparison``: eq lt logical_and isnan allclose ... (no gradient)
- ``reduce``, ``softmax`` (softmax log_softmax logsumexp), ``shape``, ``index``, ``linalg``,
  ``scan``, ``sorting``, ``histograms``, ``inplace`` (in-place ops inside the graph)
- ``decompositions``: inv det solve cholesky qr eigh svd pinv norms (``cr.linalg``), kron cdist
- ``special``: tan sinh asin atan2 hypot exp2 erfc erfinv lgamma digamma polygamma xlogy ...
- ``random``: random draws as ops (the dropout mask)
- ``fused/``: one-node ops for speed or stability (linear, cross-entropy, norms, embedding, BCE)
- ``either``: the helpers a backward rule calls that work on arrays and on Tensors

    >>> cr.ops.add(cr.tensor([1.0]), 2)
    tensor([3.])
"""

from .arithmetic import (  # noqa: F401
    add, div, divide, floor_divide, fmod, mul, neg, pow, remainder, square, sub, true_divide,
)
subtract, multiply = sub, mul  # torch's aliases
from .activation import elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh  # noqa: F401
from .comparison import (  # noqa: F401
    allclose, eq, equal, ge, gt, isclose, isfinite, isinf, isnan, le, logical_and, logical_not,
    logical_or, logical_xor, lt, ne,
)
from .unary import (  # noqa: F401
    abs, addcdiv, addcmul, cast, ceil, clamp, clamp_max, clamp_min, clip, clone, cos, erf, exp,
    expm1, fix, floor, frac, lerp, log, log1p, log2, log10, maximum, minimum, nan_to_num, round,
    rsqrt, sign, sin, sqrt, to_device, trunc, where,
)
from . import inplace  # noqa: F401 - in-place ops inside the graph (Tensor.add_, +=, [] =)
from .index import (  # noqa: F401
    argwhere, gather, getitem, index_add, index_copy, index_fill, index_key, index_select,
    masked_fill, masked_select, narrow, nonzero, one_hot, scatter, scatter_add, select, take,
    take_along_dim,
)
from .linalg import addmv, cross, dot, inner, matmul, mm, mv, outer, vdot  # noqa: F401
from .fused import cross_entropy, linear  # noqa: F401
from .reduce import (  # noqa: F401
    all, amax, amin, aminmax, any, argmax, argmin, corrcoef, count_nonzero, cov, dist, max, mean,
    min, nanmean, nansum, norm, prod, std, std_mean, sum, sum_to_size, var, var_mean,
)
from .softmax import log_softmax, logsumexp, softmax  # noqa: F401
from .shape import (  # noqa: F401
    broadcast_to, cat, chunk, concatenate, expand, flatten, flip, pad, permute, reshape, split,
    squeeze, stack, swapaxes, transpose, unbind, unsqueeze, view,
)

# issue 12: ordering, scans, batched products, triangles and repetition
from .linalg import addmm, baddbmm, bmm, einsum  # noqa: F401,E402
from .scan import cumprod, cumsum  # noqa: F401,E402
from .shape import (  # noqa: F401,E402
    ravel, repeat, repeat_interleave, roll, tril, tril_indices, triu, triu_indices,
)
from .shape import (  # noqa: F401,E402
    atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors, column_stack, diag,
    diff, dsplit, dstack, hsplit, hstack, meshgrid, moveaxis, movedim, rot90, row_stack,
    tensor_split, tile, vsplit, vstack,
)
from .sorting import (  # noqa: F401,E402
    argsort, median, mode, msort, quantile, sort, topk, unique,
)
from .histograms import bincount, histc, histogram  # noqa: F401,E402

from .decompositions import cdist, det, inverse, kron, logdet, trace  # noqa: F401,E402

from .special import (  # noqa: F401,E402
    acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
    atan2, atanh, cosh, digamma, erfc, erfinv, exp2, hypot, lgamma, logaddexp, polygamma,
    reciprocal, sinc, sinh, tan, xlogy,
)

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it).
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
)
