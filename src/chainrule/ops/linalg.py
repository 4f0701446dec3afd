"""Matrix products: ``matmul`` / ``@`` with the cases of ``torch.matmul``.

1-D @ 1-D is a dot product; a 1-D operand on the left (right) is a row (column) that is
removed from the result; anything with more dims is a batch of matrices that broadcasts.

    >>> W = cr.randn(10, 784, requires_grad=True)
    >>> x = cr.randn(32, 784)
    >>> (x @ W.T).shape
    chainrule.Size([32, 10])
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..promotion import check_same_dtype
from ..autograd.function import Op
from ..tensor import Tensor
from . import either
from ..errors import InvalidArgument


def _shape(x):
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


def check_matmul(name, a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(f"{name}: both operands need at least 1 dimension, got shapes "
                         f"{a_shape} and {b_shape}")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise InvalidArgument(f"{name}: shapes {a_shape} and {b_shape} are not aligned "
                              f"({k_a} != {k_b})")  # the design's wording (DESIGN.md)


class MatMul(Op):
    @property
    def torch_name(self):
        dims = (len(self.args[0].shape), len(self.args[1].shape))
        # batched operands: torch.matmul's name (torch.bmm's own node would be BmmBackward0)
        return {(1, 1): "DotBackward0", (2, 1): "MvBackward0",
                (2, 2): "MmBackward0"}.get(dims, "UnsafeViewBackward0")

    def forward(self, a, b):
        if a.dtype != b.dtype:  # matmul does not promote (torch): say so, never compute float64
            check_same_dtype("matmul", a, b)
        try:
            return a @ b
        except ValueError:
            check_matmul("matmul", a.shape, b.shape)  # says which shapes disagree
            raise

    def backward(self, g, a, b):
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        A = a.reshape(1, -1) if a_vec else a          # (..., n, k)
        B = b.reshape(-1, 1) if b_vec else b          # (..., k, m)
        G = g
        if a_vec and b_vec:
            G = g.reshape(1, 1)
        elif a_vec:
            G = g[..., None, :]
        elif b_vec:
            G = g[..., None]
        ga = gb = None
        a_wanted = isinstance(self.args[0], Tensor) and self.args[0]._requires_grad
        b_wanted = isinstance(self.args[1], Tensor) and self.args[1]._requires_grad
        if a_wanted:
            ga = G @ B.swapaxes(-1, -2)                # (..., n, k)
            if a_vec:
                ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
        if b_wanted:
            gb = A.swapaxes(-1, -2) @ G                # (..., k, m)
            if b_vec:
                gb = gb.reshape(gb.shape[:-1])
        return ga, gb


def matmul(input, other):  # noqa: A002 - PyTorch's argument names
    """The matrix product of ``input`` and ``other`` (see the module docstring for the cases)."""
    return MatMul.apply(input, other)


def mm(input, mat2):  # noqa: A002 - PyTorch's argument names
    if len(_shape(input)) != 2 or len(_shape(mat2)) != 2:
        raise ValueError(f"mm: expected 2-D tensors, got shapes {_shape(input)} and "
                         f"{_shape(mat2)}")
    return matmul(input, mat2)


def dot(input, tensor):  # noqa: A002 - PyTorch's argument names
    if len(_shape(input)) != 1 or len(_shape(tensor)) != 1:
        raise InvalidArgument(f"dot: expected 1-D tensors, got shapes {_shape(input)} and "
                              f"{_shape(tensor)}")
    if _shape(input) != _shape(tensor):
        raise InvalidArgument(f"dot: shapes {_shape(input)} and {_shape(tensor)} must have the "
                              "same number of elements")
    return matmul(input, tensor)


def outer(input, vec2):  # noqa: A002 - PyTorch's argument names
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


def mv(input, vec):  # noqa: A002 - PyTorch's argument names
    """The product of a matrix (n, m) and a vector (m,): (n,), as ``torch.mv``.

        >>> cr.mv(cr.ones(2, 3), cr.arange(3.0))
        tensor([3., 3.])
    """
    if len(_shape(input)) != 2 or len(_shape(vec)) != 1:
        raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got shapes "
                           f"{_shape(input)} and {_shape(vec)}")
    if _shape(input)[1] != _shape(vec)[0]:
        raise RuntimeError(f"mv: size mismatch, matrix {_shape(input)} and vector "
                           f"{_shape(vec)}")
    return matmul(input, vec)


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's argument names
    """``beta * input + alpha * mv(mat, vec)``, ``input`` broadcast to the product's (n,);
    ``beta=0`` ignores the input (NaNs in it too), as torch."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def inner(input, other):  # noqa: A002 - PyTorch's argument names
    """The sum over the last dims of ``input`` and ``other``, as ``torch.inner``: a number
    for two vectors, (*a, *b) for ``input`` (*a, n) and ``other`` (*b, n); a 0-d operand
    scales the other."""
    sa, sb = _shape(input), _shape(other)
    if not sa or not sb:
        return input * other
    if sa[-1] != sb[-1]:
        raise RuntimeError(f"inner: last dims must match, got shapes {sa} and {sb}")
    a = input.reshape(-1, sa[-1])
    b = other.reshape(-1, sb[-1])
    return matmul(a, b.transpose(0, 1)).reshape(sa[:-1] + sb[:-1])


def vdot(input, other):  # noqa: A002 - PyTorch's argument names
    """The dot product of two 1-D tensors, the first conjugated (real tensors: ``dot``)."""
    if len(_shape(input)) != 1 or len(_shape(other)) != 1:
        raise RuntimeError(f"vdot: expected 1-D tensors, got shapes {_shape(input)} and "
                           f"{_shape(other)}")
    return dot(input.conj(), other)


def cross(input, other, dim=None):  # noqa: A002 - PyTorch's argument names
    """The cross product of 3-vectors along ``dim`` (broadcast), as ``torch.cross``; without
    ``dim`` the first dim of size 3, with torch's deprecation warning (``cr.linalg.cross``
    takes the last).

        >>> cr.cross(cr.tensor([1.0, 0.0, 0.0]), cr.tensor([0.0, 1.0, 0.0]), dim=0)
        tensor([0., 0., 1.])
    """
    from . import shape as _shape_ops  # noqa: PLC0415 - roll lives with the shape ops

    sa, sb = _shape(input), _shape(other)
    if len(sa) != len(sb):
        raise RuntimeError(f"cross: inputs must have the same number of dimensions, got shapes "
                           f"{sa} and {sb}")
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated. Please "
                      "either pass the dim explicitly or simply use torch.linalg.cross. The "
                      "default value of dim will change to agree with that of linalg.cross "
                      "in a future release.", UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(sa, sb)
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input (shapes {sa} and {sb})")
    ndim = len(sa)
    axis = dim + ndim if dim < 0 else dim
    if not 0 <= axis < ndim:
        raise IndexError(f"cross: dim {dim} is out of range for {ndim} dims")
    if sa[axis] != 3 or sb[axis] != 3:
        raise RuntimeError(f"cross: inputs must have size 3 along dim {dim}, got shapes {sa} "
                           f"and {sb}")
    roll = _shape_ops.roll
    return (roll(input, -1, axis) * roll(other, -2, axis)
            - roll(input, -2, axis) * roll(other, -1, axis))


# --- batched products and einsum ---------------------------------------------------------

def bmm(input, mat2):  # noqa: A002 - PyTorch's argument names
    """Batched matrix product of (B, n, k) and (B, k, m) tensors (no broadcasting).

        >>> cr.bmm(cr.ones(4, 2, 3), cr.ones(4, 3, 5)).shape
        chainrule.Size([4, 2, 5])
    """
    sa, sb = _shape(input), _shape(mat2)
    if len(sa) != 3 or len(sb) != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got shapes {sa} and {sb}")
    if sa[0] != sb[0] or sa[2] != sb[1]:
        raise RuntimeError(f"bmm: shapes {sa} and {sb} do not match (batch {sa[0]} vs {sb[0]}, "
                           f"inner {sa[2]} vs {sb[1]})")
    return matmul(input, mat2)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002 - PyTorch's name
    """``beta * input + alpha * bmm(batch1, batch2)``; ``input`` broadcasts to the product.

    With ``beta=0`` the input is ignored (NaNs in it do not propagate), as in PyTorch.
    """
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002 - torch's argument names
    """``beta * input + alpha * (mat1 @ mat2)``, as ``torch.addmm``; ``input`` broadcasts to
    the (n, m) product, and with ``beta=0`` it is ignored (NaNs in it do not propagate).

        >>> cr.addmm(cr.zeros(2, 2), cr.eye(2), cr.ones(2, 2), alpha=2)
        tensor([[2., 2.],
                [2., 2.]])
    """
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: mat1 and mat2 must be matrices, got shapes "
                           f"{tuple(mat1.shape)} and {tuple(mat2.shape)}")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: mat1 and mat2 shapes cannot be multiplied "
                           f"({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return _scaled_sum("addmm", input, matmul(mat1, mat2), beta, alpha)


def _scaled_sum(name, input, product, beta, alpha):
    """``beta * input + alpha * product`` for baddbmm, addmm and addmv, ``input`` broadcasting to
    the product; with ``beta=0`` the input is not read at all (torch's rule)."""
    try:
        fits = np.broadcast_shapes(_shape(input), _shape(product)) == _shape(product)
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"{name}: input of shape {_shape(input)} does not broadcast to the "
                           f"product's shape {_shape(product)}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (input if beta == 1 else input * beta)


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def parse_einsum(equation, shapes):
    """Explicit subscripts for every operand and the output: ``('ij', 'jk'), 'ik'``.

    Spaces go, '...' becomes letters of its own (broadcast from the right, as in NumPy),
    and an equation without '->' gets PyTorch's implicit output: the letters seen once,
    in alphabetical order, after the ellipsis dims.
    """
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operands but "
                         f"{len(shapes)} tensors were given")
    used = set(c for c in eq if c.isalpha())
    bad = [c for c in eq.replace("...", "").replace(",", "").replace("->", "") if c not in _LETTERS]
    if bad or ("." in rhs.replace("...", "")) or any("." in t.replace("...", "", 1) for t in terms):
        raise ValueError(f"einsum: invalid subscripts in {equation!r}")
    ell_dims = []
    for term, shape in zip(terms, shapes):
        n_letters = len(term.replace("...", ""))
        if "..." in term:
            if len(shape) < n_letters:
                raise ValueError(f"einsum: operand of shape {shape} has fewer dims than the "
                                 f"subscripts {term!r}")
            ell_dims.append(len(shape) - n_letters)
        elif len(shape) != n_letters:
            raise ValueError(f"einsum: subscripts {term!r} name {n_letters} dims but the operand "
                             f"has shape {shape}")
    free = [c for c in _LETTERS if c not in used]
    ell = "".join(free[:max(ell_dims, default=0)])
    k = iter(ell_dims)  # the '...' of each term stands for the last k of the ellipsis letters
    explicit = [t.replace("...", ell[len(ell) - next(k):]) if "..." in t else t for t in terms]
    if arrow:
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1 or not any(c in t for t in explicit):
                raise ValueError(f"einsum: output subscript {c!r} in {equation!r} appears more "
                                 "than once or in no operand")
    else:
        joined = "".join(t.replace("...", "") for t in terms)
        out = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return tuple(explicit), out


def _einsum_any(spec, *operands):
    """einsum on arrays, or recorded when any operand is a Tensor (a rule for either)."""
    if any(isinstance(o, Tensor) for o in operands):
        return Einsum.apply(spec, *operands)
    xp = backend.get_array_module(*operands)
    return xp.einsum(spec, *operands, optimize=len(operands) > 1)


class Einsum(Op):
    """The first argument is the explicit spec ('ij,jk->ik'), the rest the operands.

    The gradient of operand i is the einsum of the upstream gradient with the other
    operands, giving back operand i's subscripts; letters only operand i has are broadcast
    back, and a repeated letter (a diagonal, 'ii->i') is written back onto the diagonal.
    """

    def forward(self, spec, *operands):
        xp = backend.get_array_module(*operands)
        return xp.einsum(spec, *operands, optimize=len(operands) > 1)

    def backward(self, g, spec, *operands):
        lhs, out = spec.split("->")
        terms = lhs.split(",")
        grads = [None]
        for i, (term, x) in enumerate(zip(terms, operands)):
            a = self.args[i + 1]
            if not (isinstance(a, Tensor) and a._requires_grad):
                grads.append(None)
                continue
            others = [(t, o) for j, (t, o) in enumerate(zip(terms, operands)) if j != i]
            available = set(out).union(*(set(t) for t, _ in others))
            unique = "".join(dict.fromkeys(term))
            keep = "".join(c for c in unique if c in available)
            inner = ",".join([out] + [t for t, _ in others]) + "->" + keep
            part = _einsum_any(inner, g, *(o for _, o in others))
            size = {c: n for c, n in zip(term, x.shape)}
            kept = dict(zip(keep, part.shape))
            if keep != unique:
                part = part.reshape(tuple(kept.get(c, 1) for c in unique))
                part = either.broadcast_to(part, tuple(kept.get(c, size[c]) for c in unique))
            if unique != term:
                part = _onto_diagonal(part, term, unique, tuple(x.shape))
            grads.append(part)
        return tuple(grads)


def _onto_diagonal(part, term, unique, shape):
    """zeros(shape) with ``part`` (axes: the unique letters) where repeated letters agree."""
    from .index import IndexAdd  # noqa: PLC0415
    xp = backend.get_array_module(either.value(part))
    key = []
    for c in term:
        axis = unique.index(c)
        view = [1] * len(unique)
        view[axis] = shape[term.index(c)]
        key.append(xp.arange(view[axis]).reshape(view))
    key = tuple(key)
    if either.is_graph(part):
        return IndexAdd.apply(part, key, shape)
    return IndexAdd.scatter(part, key, shape)


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum``: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

        >>> cr.einsum("bij,bjk->bik", cr.ones(2, 3, 4), cr.ones(2, 4, 5)).shape
        chainrule.Size([2, 3, 5])
        >>> cr.einsum("ii", cr.eye(3))        # the trace
        tensor(3.)

    Operands may also come as one list; '...' and implicit outputs work as in PyTorch.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    terms, out = parse_einsum(equation, [_shape(o) for o in operands])
    return Einsum.apply(",".join(terms) + "->" + out, *operands)
