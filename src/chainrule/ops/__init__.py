"""Every differentiable op of chainrule, one module per family.

The public functions here are what ``cr.<name>`` and the Tensor methods call. Each op is
an ``Op`` subclass (``autograd.function``) with its forward and backward side by side.
"""

from .elementwise import (  # noqa: F401
    abs, add, allclose, cast, to_device, clamp, clip, clone, cos, div, elu, eq, equal, erf, exp, expm1, ge,
    gelu, gt, isfinite, isinf, isnan, le, leaky_relu, log, log1p, logical_and, logical_not,
    logical_or, logical_xor, lt, maximum, minimum, mul, ne, neg, pow, relu, rsqrt, sigmoid, sign,
    silu, sin, softplus, sqrt, square, sub, tanh, where,
)
from . import inplace  # noqa: F401 - in-place ops inside the graph (Tensor.add_, +=, [] =)
from .index import gather, getitem, index_key, index_select, masked_fill, one_hot, take_along_dim  # noqa: F401
from .linalg import dot, matmul, mm, outer  # noqa: F401
from .nn_ops import cross_entropy, linear  # noqa: F401
from .reduce import (  # noqa: F401
    all, amax, amin, any, argmax, argmin, log_softmax, logsumexp, max, mean, min, norm, prod,
    softmax, std, sum, sum_to_size, var,
)
from .shape import (  # noqa: F401
    broadcast_to, cat, chunk, concatenate, expand, flatten, flip, pad, permute, reshape, split,
    squeeze, stack, swapaxes, transpose, unbind, unsqueeze, view,
)

# issue 12: ordering, scans, batched products, triangles and repetition
from .linalg import baddbmm, bmm, einsum  # noqa: F401,E402
from .scan import cumprod, cumsum  # noqa: F401,E402
from .shape import (  # noqa: F401,E402
    repeat, repeat_interleave, roll, tril, tril_indices, triu, triu_indices,
)
from .sorting import argsort, msort, sort, topk  # noqa: F401,E402
from .elementwise import log2, log10  # noqa: F401,E402
from .histograms import histc, histogram  # noqa: F401,E402
