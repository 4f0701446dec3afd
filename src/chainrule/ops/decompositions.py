"""Matrix functions and decompositions: ``torch.linalg`` and its top-level relatives.

Primitives with a hand-written backward (the standard matrix-calculus VJPs, written with
``@``, ``.swapaxes`` and the ops themselves, so that ``create_graph=True`` gives second
derivatives): ``Inv``, ``Det``, ``Slogdet``, ``Solve``, ``Cholesky``, ``QR``, ``Eigh``, ``SVD``,
``Pinv``, ``VectorNorm``. Everything else (matrix norms, ``svdvals``, ``eigvalsh``, ``logdet``,
``trace``, ``kron``, ``cdist``) is composed from them and needs no backward (``addmm`` lives
with ``baddbmm`` in ``ops.linalg``).

Batches: every function works on ``(*, m, n)`` stacks, as torch's. Errors start with the op's
name; a factorization that fails (a singular matrix, one not positive-definite) raises
``LinAlgError``, a ``RuntimeError`` as ``torch.linalg.LinAlgError`` is.

    >>> A = cr.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    >>> cr.linalg.det(A)
    tensor(5., grad_fn=<LinalgDetBackward0>)
"""

from __future__ import annotations

import collections
import math

import numpy as np

from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor, _make
from . import either
from .reduce import amax, amin, normalize_dims
from .shape import broadcast_to, cat, diag, permute


class LinAlgError(RuntimeError):
    """A factorization could not be completed (singular, not positive-definite), as
    ``torch.linalg.LinAlgError``."""


SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
QRResult = collections.namedtuple("linalg_qr", ["Q", "R"])
EighResult = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])


# --- checks and helpers --------------------------------------------------------------------

_TORCH_DTYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                      "uint8": "Byte", "bool": "Bool", "float16": "Half"}


def _check_float(name, x, arg="A"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    kind = x._array.dtype
    if kind not in (np.float32, np.float64):
        # numpy's LAPACK has no float16 kernels; complex would need conjugates in every rule
        got = _TORCH_DTYPE_NAMES.get(str(kind), str(kind))
        raise RuntimeError(f"{name}: Expected a float32 or float64 tensor as input. Got {got} "
                           f"(shape {tuple(x.shape)})")


def _check_matrix(name, A, square=True, arg="A"):
    _check_float(name, A, arg)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions, "
                           f"got shape {tuple(A.shape)} {A.dtype}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices (shape {tuple(A.shape)})")


def _lapack(name, fn, *arrays, **kwargs):
    """``fn(*arrays)``, a LAPACK failure raised as ``LinAlgError`` naming the op."""
    try:
        return fn(*arrays, **kwargs)
    except np.linalg.LinAlgError as exc:  # a ValueError: Op.apply would call it a bad value
        shapes = ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays)
        raise LinAlgError(f"{name}: {_explain(exc)} (inputs: {shapes})") from None


def _explain(exc):
    msg = str(exc)
    if "positive definite" in msg.lower():
        return "The factorization could not be completed because the input is not " \
               f"positive-definite ({msg})"
    if "singular" in msg.lower():
        return "The input matrix is singular, the operation could not be completed " \
               f"({msg})"
    return msg


def _mT(x):
    return x.swapaxes(-1, -2)


def _eye(n, like):
    return backend.get_array_module(either.value(like)).eye(n, dtype=either.value(like).dtype)


def _tril_mask(n, like, k=0):
    xp = backend.get_array_module(either.value(like))
    return xp.tril(xp.ones((n, n), dtype=either.value(like).dtype), k)


def _diag_embed(v):
    """A batch of vectors (..., n) as diagonal matrices (..., n, n), for arrays and Tensors."""
    n = v.shape[-1]
    return v.reshape(tuple(v.shape) + (1,)) * _eye(n, v)


def _diagonal(X):
    """The main diagonals (..., n) of square matrices (..., n, n), for arrays and Tensors."""
    return either.sum(X * _eye(X.shape[-1], X), -1)


def _col(v):
    return v.reshape(tuple(v.shape) + (1,))   # (..., n) -> (..., n, 1)


def _row(v):
    return v.reshape(tuple(v.shape[:-1]) + (1, v.shape[-1]))   # (..., n) -> (..., 1, n)


def _inv(A):
    """inv on arrays, or recorded when ``A`` is a Tensor (a rule for either)."""
    if either.is_graph(A):
        return Inv.apply(A)
    return _lapack("linalg.inv", backend.get_array_module(A).linalg.inv, A)


def _saved(node, graph):
    """The outputs forward kept on ``node.outs``: arrays on the first-order path, or under
    create_graph Tensors that *are* the node's outputs (as ``Op.saved_output``), so that the
    backward of the backward runs through this node again."""
    if not graph:
        return node.outs
    saved = []
    for i, o in enumerate(node.outs):
        t = _make(o, True, node)
        t._output_nr = i
        saved.append(t)
    return tuple(saved)


def _zeros_like(x):
    return backend.get_array_module(either.value(x)).zeros(x.shape, either.value(x).dtype)


def _batch_shape(*shapes):
    return np.broadcast_shapes(*(s[:-2] for s in shapes))


# --- inverse, determinant, solve -----------------------------------------------------------

class Inv(Op):
    """inv(A); VJP -A^-T G A^-T, written in the saved output."""

    saves_output = True
    torch_name = "LinalgInvExBackward0"

    def forward(self, A):
        self.y = _lapack("linalg.inv", backend.get_array_module(A).linalg.inv, A)
        return self.y

    def backward(self, g, A):
        inv_T = _mT(self.saved_output(g))
        return -(inv_T @ g @ inv_T)


class Det(Op):
    """det(A); VJP g * adj(A)^T, which is g det(A) A^-T for an invertible A.

    For a singular A (no inverse) the first-order rule uses the adjugate from the SVD,
    A = U S V^T: adj(A)^T = det(U) det(V) U diag(prod_{j!=i} s_j) V^T, finite as torch's.
    Second derivatives at a singular matrix are not supported (a LinAlgError says so).
    """

    saves_output = True
    torch_name = "LinalgDetBackward0"

    def forward(self, A):
        xp = backend.get_array_module(A)
        self.y = xp.asarray(xp.linalg.det(A))
        return self.y

    def backward(self, g, A):
        det = self.saved_output(g)
        if either.is_graph(A):
            try:
                inv = Inv.apply(A)
            except LinAlgError:
                raise LinAlgError(f"det: second derivatives at a singular matrix are not "
                                  f"supported (input {tuple(A.shape)} {A.dtype})") from None
            return _col(_col(g * det)) * _mT(inv)
        xp = backend.get_array_module(A)
        try:
            return _col(_col(g * det)) * _mT(xp.linalg.inv(A))
        except np.linalg.LinAlgError:
            return _col(_col(g)) * _adjugate_T(A)


def _adjugate_T(A):
    """The transposed adjugate (cofactor matrix) of arrays A, finite for singular A."""
    xp = backend.get_array_module(A)
    U, s, Vh = xp.linalg.svd(A)
    n = s.shape[-1]
    ones = xp.ones(s.shape[:-1] + (1,), s.dtype)
    before = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)        # prod_{j<i} s_j
    after = xp.cumprod(xp.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]  # j>i
    others = before * after
    sign = xp.linalg.det(U) * xp.linalg.det(Vh)
    return (sign[..., None, None] * (U * others[..., None, :])) @ Vh if n else A.copy()


class Slogdet(Op):
    """(sign, log|det A|); only logabsdet has a gradient: g A^-T."""

    torch_name = "LinalgSlogdetBackward0"

    def forward(self, A):
        xp = backend.get_array_module(A)
        sign, logabsdet = xp.linalg.slogdet(A)
        return xp.asarray(sign), xp.asarray(logabsdet)

    def backward(self, grads, A):
        g = grads[1]
        if g is None:
            return _zeros_like(A)
        return _col(_col(g)) * _mT(_inv(A))


class Solve(Op):
    """X = A^-1 B for A (*, n, n), B (*, n, k) of one batch shape (the function broadcasts).
    VJP: gB = A^-T G, gA = -gB X^T."""

    saves_output = True
    torch_name = "LinalgSolveExBackward0"

    def forward(self, A, B):
        self.y = _lapack("linalg.solve", backend.get_array_module(A).linalg.solve, A, B)
        return self.y

    def backward(self, g, A, B):
        gB = Solve.apply(_mT(A), g) if either.is_graph(g) else \
            _lapack("linalg.solve", backend.get_array_module(A).linalg.solve, _mT(A), g)
        gA = -(gB @ _mT(self.saved_output(g))) if either.wants(self, 0) else None
        return gA, gB


def inv(A):
    """The inverse of a square matrix (or a batch), as ``torch.linalg.inv``.

        >>> cr.linalg.inv(cr.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    _check_matrix("linalg.inv", A)
    return Inv.apply(A)


def inverse(input):  # noqa: A002 - torch's argument name
    """``torch.inverse``: the same as ``linalg.inv``."""
    return inv(input)


def det(A):
    """The determinant of square matrices (*, n, n), as ``torch.linalg.det``; a singular
    matrix gives 0 (and a finite gradient, the adjugate).

        >>> cr.linalg.det(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(-2.)
    """
    _check_matrix("linalg.det", A)
    return Det.apply(A)


def slogdet(A):
    """(sign, logabsdet) of det(A), as ``torch.linalg.slogdet``: stable where det over- or
    underflows. logabsdet is -inf for a singular matrix (sign 0).

        >>> cr.linalg.slogdet(cr.tensor([[-2.0, 0.0], [0.0, 3.0]])).logabsdet
        tensor(1.7918)
    """
    _check_matrix("linalg.slogdet", A)
    return SlogdetResult(*Slogdet.apply(A))


def logdet(input):  # noqa: A002 - torch's argument name
    """``torch.logdet``: log det(A); nan where det < 0, -inf where A is singular.

        >>> cr.logdet(cr.tensor([[2.0, 0.0], [0.0, 3.0]]))
        tensor(1.7918)
    """
    _check_matrix("logdet", input)
    sign, logabsdet = Slogdet.apply(input)
    xp = backend.get_array_module(sign._array)  # the sign's device, a constant of the graph
    with np.errstate(divide="ignore", invalid="ignore"):  # log(-1) = nan, log(0) = -inf
        return logabsdet + xp.log(sign._array)


def solve(A, B, *, left=True):
    """X with A X = B (``left=False``: X A = B), as ``torch.linalg.solve``.

    A is (*, n, n); B is (*, n, k), or (*, n) a batch of vectors (B 1-D, or B's shape is A's
    without the last dim). Batch dims broadcast.

        >>> cr.linalg.solve(cr.tensor([[2.0, 0.0], [0.0, 4.0]]), cr.tensor([2.0, 2.0]))
        tensor([1.0000, 0.5000])
    """
    _check_matrix("linalg.solve", A)
    _check_float("linalg.solve", B, "B")
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype} and B of type {B.dtype} instead")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                               "supported for left=False. In this case linalg.solve is "
                               "equivalent to B / A.squeeze(-1)")
        return _mT(solve(_mT(A), _mT(B)))
    if vector:
        B = B.unsqueeze(-1)
    n = A.shape[-1]
    if B.ndim < 2 or B.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = "
                           f"B ({tuple(A.shape)} and {tuple(B.shape)})")
    try:
        batch = _batch_shape(tuple(A.shape), tuple(B.shape))
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dims of A {tuple(A.shape)} and B "
                           f"{tuple(B.shape)} do not broadcast") from None
    if tuple(A.shape[:-2]) != batch:  # broadcast in the graph: its backward sums back
        A = broadcast_to(A, batch + (n, n))
    if tuple(B.shape[:-2]) != batch:
        B = broadcast_to(B, batch + tuple(B.shape[-2:]))
    X = Solve.apply(A, B)
    return X.squeeze(-1) if vector else X


# --- Cholesky, QR --------------------------------------------------------------------------

class Cholesky(Op):
    """A = L L^T with L lower triangular (only A's lower triangle is read).

    VJP: with P = tril(L^T G) and S its symmetric completion, S = (P + tril(P, -1)^T) / 2,
    gA = L^-T S L^-1 (torch's symmetric gradient).
    """

    saves_output = True
    torch_name = "LinalgCholeskyExBackward0"

    def forward(self, A):
        self.y = _lapack("linalg.cholesky", backend.get_array_module(A).linalg.cholesky, A)
        return self.y

    def backward(self, g, A):
        L = self.saved_output(g)
        n = A.shape[-1]
        P = (_mT(L) @ g) * _tril_mask(n, A)
        S = (P + _mT(P * _tril_mask(n, A, -1))) * 0.5
        L_inv = _inv(L)
        return _mT(L_inv) @ S @ L_inv


def cholesky(A, *, upper=False):
    """The Cholesky factor of symmetric positive-definite matrices, as
    ``torch.linalg.cholesky``: lower L with A = L L^T (``upper=True``: U = L^T).

        >>> cr.linalg.cholesky(cr.tensor([[4.0, 2.0], [2.0, 2.0]]))
        tensor([[2., 0.],
                [1., 1.]])
    """
    _check_matrix("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return _mT(L) if upper else L


class QR(Op):
    """A = Q R. Backward for mode 'reduced' (and 'complete' when m <= n), the rule of
    TensorFlow's QrGrad (Walter & Lehmann): for m >= n,
    M = tril(Q^T gQ - gQ^T Q + R gR^T - gR R^T),
    gA = Q (gR + M R^-T) + (gQ - Q Q^T gQ) R^-T;
    for m < n, A = [X | Y], R = [U | V]: gY = Q gV and gX is the square rule with
    gQ + Y gV^T and gU.
    """

    saves_output = True   # backward reads the factors (self.outs)
    torch_name = "LinalgQrBackward0"

    def forward(self, A, mode):
        xp = backend.get_array_module(A)
        Q, R = xp.linalg.qr(A, mode=mode)
        self.outs = (Q, R)
        return self.outs

    def backward(self, grads, A, mode):
        m, n = A.shape[-2:]
        if mode == "complete" and m > n:
            raise RuntimeError(f"linalg.qr: The derivative of linalg.qr depends on Q, which is "
                               f"not computed when mode='complete' and nrows > ncols (input "
                               f"{tuple(A.shape)})")
        Q, R = _saved(self, either.is_graph(A))
        gQ = grads[0] if grads[0] is not None else _zeros_like(Q)
        gR = grads[1] if grads[1] is not None else _zeros_like(R)
        if m >= n:
            return _qr_square_deep(Q, R, gQ, gR), None
        Y = A[..., :, m:]
        U = R[..., :, :m]
        gU, gV = gR[..., :, :m], gR[..., :, m:]
        gX = _qr_square_deep(Q, U, gQ + Y @ _mT(gV), gU)
        gY = Q @ gV
        if either.is_graph(gX):
            return cat([gX, gY], -1), None
        return backend.get_array_module(gX).concatenate([gX, gY], -1), None


def _qr_square_deep(Q, R, gQ, gR):
    n = R.shape[-1]
    qdq = _mT(Q) @ gQ
    rdr = R @ _mT(gR)
    M = (qdq - _mT(qdq) + rdr - _mT(rdr)) * _tril_mask(n, R)
    R_inv_T = _mT(_inv(R))
    return Q @ (gR + M @ R_inv_T) + (gQ - Q @ qdq) @ R_inv_T


def qr(A, mode="reduced"):
    """The QR decomposition A = Q R, as ``torch.linalg.qr``: mode 'reduced' (Q (*, m, k),
    R (*, k, n), k = min(m, n)), 'complete' (Q (*, m, m)) or 'r' (R only, Q empty).

        >>> Q, R = cr.linalg.qr(cr.randn(5, 3))
        >>> Q.shape, R.shape
        (chainrule.Size([5, 3]), chainrule.Size([3, 3]))
    """
    _check_matrix("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected "
                           "one of 'reduced' (default), 'r', or 'complete'")
    if mode == "r":
        if A.requires_grad:  # as torch: R alone does not give the derivative
            raise RuntimeError("linalg.qr: The derivative of linalg.qr depends on Q, which is "
                               "not computed when mode='r'. Please use linalg.qr(A, "
                               "mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        _, R = QR.apply(A, "reduced")
        empty = backend.get_array_module(A._array).zeros((0,), A._array.dtype)
        return QRResult(_make(empty, False, None), R)
    return QRResult(*QR.apply(A, mode))


# --- eigh, svd -----------------------------------------------------------------------------

class Eigh(Op):
    """A = Q diag(w) Q^T for symmetric A, w ascending. VJP (distinct eigenvalues):
    gA = sym(Q (diag(gw) + F o (Q^T gQ)) Q^T), F_ij = 1 / (w_j - w_i) off the diagonal, 0
    on it, sym(X) = (X + X^T) / 2 (A is symmetric: torch's gradient is too).
    Repeated eigenvalues make F infinite: the eigenvectors' gradient is then undefined
    (as in torch), the eigenvalues' stays finite."""

    saves_output = True   # backward reads the factors (self.outs)
    torch_name = "LinalgEighBackward0"

    def forward(self, A, uplo):
        w, Q = backend.get_array_module(A).linalg.eigh(A, UPLO=uplo)
        self.outs = (w, Q)
        return self.outs

    def backward(self, grads, A, uplo):
        w, Q = _saved(self, either.is_graph(A))
        gw, gQ = grads
        inner = 0
        if gQ is not None:
            n = A.shape[-1]
            eye = _eye(n, A)
            # E + I keeps the diagonal finite; it is masked out (no 0 * inf in a 2nd backward)
            gap = _row(w) - _col(w) + eye
            inner = (_mT(Q) @ gQ) / gap * (1 - eye)
        if gw is not None:
            inner = inner + _diag_embed(gw)
        gA = Q @ inner @ _mT(Q)
        return (gA + _mT(gA)) * 0.5, None   # torch's gradient is the symmetric one


def eigh(A, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices, as
    ``torch.linalg.eigh``; only the ``UPLO`` ('L' or 'U') triangle of A is read.

        >>> cr.linalg.eigh(cr.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
        tensor([1., 2.])
    """
    _check_matrix("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got "
                           f"{UPLO}")
    return EighResult(*Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of symmetric matrices, ascending, as ``torch.linalg.eigvalsh``.

        >>> cr.linalg.eigvalsh(cr.tensor([[2.0, 1.0], [1.0, 2.0]]))
        tensor([1., 3.])
    """
    _check_matrix("linalg.eigvalsh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigvalsh: Expected UPLO argument to be 'L' or 'U', but got "
                           f"{UPLO}")
    return Eigh.apply(A, UPLO)[0]


class SVD(Op):
    """A = U diag(S) Vh, S descending. The VJP is torch's ``svd_backward`` (distinct singular
    values; with full_matrices the extra columns of U / rows of Vh get no gradient):
    with E_ij = S_j^2 - S_i^2 (1 on the diagonal) and skew(X) = X - X^T,
    gA = U [(skew(U^T gU) S_row + S_col skew(V^T gV)) / E + diag(gS)] Vh, plus the
    projection terms (I - U U^T) gU S^-1 Vh (m > n) or U S^-1 gVh (I - V V^T) (m < n).
    """

    saves_output = True   # backward reads the factors (self.outs)
    torch_name = "LinalgSvdBackward0"

    def forward(self, A, full_matrices):
        U, S, Vh = backend.get_array_module(A).linalg.svd(A, full_matrices=full_matrices)
        self.outs = (U, S, Vh)
        return self.outs

    def backward(self, grads, A, full_matrices):
        U, S, Vh = _saved(self, either.is_graph(A))
        gU, gS, gVh = grads
        m, n = A.shape[-2:]
        k = S.shape[-1]
        if full_matrices and m != n:  # only the first k columns of U and rows of Vh count
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = None if gU is None else gU[..., :, :k]
            gVh = None if gVh is None else gVh[..., :k, :]
        if gU is None and gVh is None:  # svdvals: U diag(gS) Vh
            return (U * _row(gS)) @ Vh, None
        eye = _eye(k, A)
        S2 = S * S
        E = _row(S2) - _col(S2) + eye
        inner = 0
        if gU is not None:
            UgU = _mT(U) @ gU
            inner = (UgU - _mT(UgU)) * _row(S)
        if gVh is not None:
            VgV = Vh @ _mT(gVh)
            inner = inner + _col(S) * (VgV - _mT(VgV))
        inner = inner / E
        if gS is not None:
            inner = inner + _diag_embed(gS)
        if m > n and gU is not None:
            gUSinv = gU / _row(S)
            return (U @ inner + gUSinv - U @ (_mT(U) @ gUSinv)) @ Vh, None
        if m < n and gVh is not None:
            SinvgVh = gVh / _col(S)
            return U @ (inner @ Vh + SinvgVh - (SinvgVh @ _mT(Vh)) @ Vh), None
        return U @ inner @ Vh, None


def svd(A, full_matrices=True):
    """The singular value decomposition A = U diag(S) Vh, as ``torch.linalg.svd``; S is
    descending. Gradients need distinct singular values (as in torch).

        >>> U, S, Vh = cr.linalg.svd(cr.randn(4, 3), full_matrices=False)
        >>> U.shape, S.shape, Vh.shape
        (chainrule.Size([4, 3]), chainrule.Size([3]), chainrule.Size([3, 3]))
    """
    _check_matrix("linalg.svd", A, square=False)
    return SVDResult(*SVD.apply(A, bool(full_matrices)))


def svdvals(A):
    """The singular values of A, descending, as ``torch.linalg.svdvals``; the gradient
    U diag(gS) Vh is defined even for repeated values.

        >>> cr.linalg.svdvals(cr.tensor([[3.0, 0.0], [0.0, -4.0]]))
        tensor([4., 3.])
    """
    _check_matrix("linalg.svdvals", A, square=False)
    return SVD.apply(A, False)[1]


# --- pseudo-inverse, rank ------------------------------------------------------------------

def _tolerance(name, s_max, atol, rtol, m, n, dtype):
    """torch's cut-off max(atol, rtol * s_max); rtol defaults to eps * max(m, n) when no atol
    is given (to 0 when a positive atol is)."""
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else np.finfo(dtype).eps * max(m, n)
    return np.maximum(0.0 if atol is None else atol, rtol * s_max)


class Pinv(Op):
    """The Moore-Penrose inverse P of A (via the SVD, or eigh for hermitian). Its VJP is
    torch's ``pinv_backward``, written with products of A, P and G only (valid where the
    rank is constant near A)."""

    saves_output = True
    torch_name = "LinalgPinvBackward0"

    def forward(self, A, atol, rtol, hermitian):
        xp = backend.get_array_module(A)
        m, n = A.shape[-2:]
        if hermitian:
            w, Q = xp.linalg.eigh(A)
            cut = _tolerance("linalg.pinv", xp.abs(w).max(-1, initial=0)[..., None], atol, rtol,
                             m, n, A.dtype)
            w_inv = xp.where(xp.abs(w) > cut, 1 / xp.where(w == 0, 1, w), 0).astype(A.dtype)
            self.y = (Q * w_inv[..., None, :]) @ _mT(Q)
        else:
            U, s, Vh = xp.linalg.svd(A, full_matrices=False)
            cut = _tolerance("linalg.pinv", s.max(-1, initial=0)[..., None], atol, rtol, m, n,
                             A.dtype)
            s_inv = xp.where(s > cut, 1 / xp.where(s == 0, 1, s), 0).astype(A.dtype)
            self.y = (_mT(Vh) * s_inv[..., None, :]) @ _mT(U)
        return self.y

    def backward(self, g, A, atol, rtol, hermitian):
        P = self.saved_output(g)
        m, n = A.shape[-2:]
        Ph, gh = _mT(P), _mT(g)
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            return (-_mT(P @ K) + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A),
                    None, None, None)
        K = P @ gh
        PhK = Ph @ K
        return (-_mT(K @ P) + (gh - A @ K) @ P @ Ph + PhK - PhK @ P @ A, None, None, None)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse, as ``torch.linalg.pinv``: singular values at or below
    max(atol, rtol * s_max) count as zero (rtol defaults to eps * max(m, n)).

        >>> cr.linalg.pinv(cr.tensor([[2.0, 0.0], [0.0, 0.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.0000]])
    """
    _check_matrix("linalg.pinv", A, square=hermitian)
    return Pinv.apply(A, atol, rtol, bool(hermitian))


class MatrixRank(Op):
    """The number of singular values above the tolerance (no gradient: an integer)."""

    differentiable = False

    def forward(self, A, atol, rtol, hermitian):
        xp = backend.get_array_module(A)
        m, n = A.shape[-2:]
        s = xp.abs(xp.linalg.eigvalsh(A)) if hermitian else \
            xp.linalg.svd(A, compute_uv=False)
        cut = _tolerance("linalg.matrix_rank", s.max(-1, initial=0)[..., None], atol, rtol,
                         m, n, A.dtype)
        return xp.asarray((s > cut).sum(-1), dtype=np.int64)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The numerical rank (int64), as ``torch.linalg.matrix_rank``: the singular values
    above max(atol, rtol * s_max), rtol defaulting to eps * max(m, n).

        >>> cr.linalg.matrix_rank(cr.tensor([[1.0, 2.0], [2.0, 4.0]]))
        tensor(1)
    """
    _check_matrix("linalg.matrix_rank", A, square=hermitian)
    return MatrixRank.apply(A, atol, rtol, bool(hermitian))


# --- norms ---------------------------------------------------------------------------------

class VectorNorm(Op):
    """(sum |x|^p)^(1/p) over ``axes``; p = inf / -inf the largest / smallest |x|, p = 0
    the count of non-zeros. VJP: g sign(x) |x|^(p-1) / n^(p-1), 0 where n = 0 (torch's
    subgradient); for +-inf g sign(x) spread evenly over the entries that attain n."""

    saves_output = True
    torch_name = "LinalgVectorNormBackward0"

    def forward(self, x, ord, axes, keepdims):
        xp = backend.get_array_module(x)
        a = xp.abs(x)
        if ord == math.inf:
            out = a.max(axis=axes, keepdims=keepdims)
        elif ord == -math.inf:
            out = a.min(axis=axes, keepdims=keepdims)
        elif ord == 0:
            out = (a != 0).sum(axis=axes, keepdims=keepdims).astype(x.dtype)
        elif ord == 1:
            out = a.sum(axis=axes, keepdims=keepdims)
        elif ord == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=keepdims))
        else:
            out = (a ** ord).sum(axis=axes, keepdims=keepdims) ** (1 / ord)
        self.y = xp.asarray(out, dtype=x.dtype)
        return self.y

    def backward(self, g, x, ord, axes, keepdims):
        if ord == 0:
            return _zeros_like(x), None, None, None
        sign = either.sign(x).astype(either.value(x).dtype)
        if ord == 1:
            return _expand(g, x, axes, keepdims) * sign, None, None, None
        norm = _expand(self.saved_output(g), x, axes, keepdims)
        g = _expand(g, x, axes, keepdims)
        if ord in (math.inf, -math.inf):
            hits = (either.value(x) * sign == either.value(norm)).astype(sign.dtype)
            count = hits.sum(axis=axes, keepdims=True)
            return g * (sign * hits / count), None, None, None
        zero = either.value(norm) == 0
        safe = either.where(zero, 1, norm)  # 0/0 would be nan even where it is masked out
        mask = (~zero).astype(sign.dtype)
        if ord == 2:
            return g * x / safe * mask, None, None, None
        a = x * sign
        return g * sign * a ** (ord - 1) / safe ** (ord - 1) * mask, None, None, None


def _expand(t, x, axes, keepdims):
    """A reduced result broadcast back over ``axes`` to ``x``'s shape."""
    if not keepdims:
        t = t.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return either.broadcast_to(t, tuple(x.shape))


def _ord_name(ord):
    return f"'{ord}'" if isinstance(ord, str) else str(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector p-norm over ``dim`` (all dims when None), as ``torch.linalg.vector_norm``:
    ord any real, inf (max |x|), -inf (min |x|) or 0 (the number of non-zeros).

        >>> cr.linalg.vector_norm(cr.tensor([3.0, -4.0]))
        tensor(5.)
        >>> cr.linalg.vector_norm(cr.tensor([[1.0, -2.0], [3.0, 0.0]]), ord=math.inf, dim=1)
        tensor([2., 3.])
    """
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.integer, np.floating)) \
            or isinstance(ord, bool):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number (float or inf), got "
                           f"{_ord_name(ord)}")
    if dtype is not None:
        x = x.to(dtype)
    _check_float("linalg.vector_norm", x, "x")
    ord = float(ord)
    if ord < 0 and x.numel() == 0:
        raise RuntimeError(f"linalg.vector_norm: cannot compute the {ord} norm of an empty "
                           f"tensor of shape {tuple(x.shape)}")
    axes = normalize_dims("linalg.vector_norm", dim, x.ndim)
    if x.ndim == 0:  # a 0-d tensor is a vector of one entry; the result stays 0-d
        return VectorNorm.apply(x.reshape(1), ord, (0,), False)
    return VectorNorm.apply(x, ord, axes, bool(keepdim))


def _move_last(A, dims):
    """A with the two ``dims`` moved to the end (in that order), the rest kept in order."""
    rest = [d for d in range(A.ndim) if d not in dims]
    order = rest + list(dims)
    return A if order == list(range(A.ndim)) else permute(A, order)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """A matrix norm over the two ``dim``, as ``torch.linalg.matrix_norm``: 'fro'
    (Frobenius), 'nuc' (sum of singular values), 2 / -2 (largest / smallest singular value),
    1 / -1 (max / min column sum of |A|), inf / -inf (max / min row sum of |A|).

        >>> cr.linalg.matrix_norm(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), ord=1)
        tensor(6.)
    """
    name = "linalg.matrix_norm"
    if dtype is not None:
        A = A.to(dtype)
    _check_float(name, A)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions, got "
                           f"shape {tuple(A.shape)}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (int(d) % A.ndim if -A.ndim <= d < A.ndim else None for d in dims)
    if d0 is None or d1 is None:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor of {A.ndim} "
                         "dimensions")
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({dims[0]}, {dims[1]})")
    if ord in ("fro", "nuc", 2, -2):
        if ord == "fro":
            return vector_norm(A, 2, (d0, d1), keepdim)
        s = svdvals(_move_last(A, (d0, d1)))
        out = s.sum(-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
        if keepdim:
            shape = list(A.shape)
            shape[d0] = shape[d1] = 1
            out = out.reshape(shape)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the max over columns of the column sums (sum over rows, d0); inf: rows' sums
        summed, across = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = vector_norm(A, 1, summed, True)
        pick = amax if ord > 0 else amin
        out = pick(sums, across, True)
        return out if keepdim else out.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    raise RuntimeError(f"{name}: Order {_ord_name(ord)} not supported (one of 'fro', 'nuc', "
                       "2, -2, 1, -1, inf, -inf)")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector or matrix norm, as ``torch.linalg.norm``: with ``dim`` an int (or one dim)
    a vector norm, with two dims a matrix norm (ord None meaning 2 and 'fro'); with
    ``dim=None`` and ``ord=None`` the 2-norm of all entries; with ``dim=None`` and an ord,
    A must be 1-D (vector norm) or 2-D (matrix norm).

        >>> cr.linalg.norm(cr.tensor([[1.0, 2.0], [2.0, 4.0]]))
        tensor(5.)
        >>> cr.linalg.norm(cr.tensor([[1.0, 2.0], [2.0, 4.0]]), ord="nuc")
        tensor(5.)
    """
    if dtype is None:
        _check_float("linalg.norm", A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                           f"Got {dim}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                       f"1D or 2D. Got {A.ndim}D (shape {tuple(A.shape)})")


# --- top-level relatives -------------------------------------------------------------------

def trace(input):  # noqa: A002 - torch's argument name
    """The sum of a matrix's main diagonal, as ``torch.trace`` (2-D input only).

        >>> cr.trace(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(5.)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"trace(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim} "
                           f"(shape {tuple(input.shape)})")
    return diag(input).sum()


def kron(input, other):  # noqa: A002 - torch's argument names
    """The Kronecker product, as ``torch.kron``: block (i, j) is input[i, j] * other; the
    operand with fewer dims gets leading dims of size 1.

        >>> cr.kron(cr.eye(2), cr.ones(1, 2))
        tensor([[1., 1., 0., 0.],
                [0., 0., 1., 1.]])
    """
    nd = max(input.ndim, other.ndim)
    a_shape = (1,) * (nd - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (nd - other.ndim) + tuple(other.shape)
    # interleave: a over (a0, 1, a1, 1, ...), b over (1, b0, 1, b1, ...); their product's
    # pairs of axes merge into the blocks
    a = input.reshape(tuple(x for n in a_shape for x in (n, 1)))
    b = other.reshape(tuple(x for n in b_shape for x in (1, n)))
    return (a * b).reshape(tuple(p * q for p, q in zip(a_shape, b_shape)))


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distances between the rows of x1 (*, P, M) and x2 (*, R, M): (*, P, R),
    as ``torch.cdist``; batch dims broadcast. ``compute_mode`` is accepted and ignored (the
    differences are formed directly, never the matmul shortcut).

        >>> cr.cdist(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5., 1.]])
    """
    for x, arg in ((x1, "x1"), (x2, "x2")):
        _check_float("cdist", x, arg)
        if x.ndim < 2:
            raise RuntimeError(f"cdist: {arg} must have at least 2 dimensions, got shape "
                               f"{tuple(x.shape)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have the same dtype, got {x1.dtype} and "
                           f"{x2.dtype}")
    if not p >= 0:
        raise RuntimeError(f"cdist: only supports non-negative p values, got {p}")
    try:
        _batch_shape(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"cdist: the batch dims of x1 {tuple(x1.shape)} and x2 "
                           f"{tuple(x2.shape)} do not broadcast") from None
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)   # (*, P, R, M)
    return vector_norm(diff, p, -1)


def _tri(x, upper, k=0):
    if isinstance(x, Tensor):
        return x.triu(k) if upper else x.tril(k)
    return np.triu(x, k) if upper else np.tril(x, k)


class SolveTriangular(Op):
    """X with A X = B (``left``) or X A = B, A lower (or ``upper``) triangular; the other
    triangle of A is not read. A and B broadcast over their batch dims."""

    def forward(self, A, B, upper, left):
        A = _tri(A, upper)
        if left:
            batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
            return np.linalg.solve(np.broadcast_to(A, batch + A.shape[-2:]),
                                   np.broadcast_to(B, batch + B.shape[-2:]))
        return _mT(self.forward(_mT(A), _mT(B), not upper, True))

    def backward(self, g, A, B, upper, left):
        # X = A^-1 B: gB = A^-T g, gA = -gB X^T; X = B A^-1: gB = g A^-T, gA = -X^T gB.
        # gA keeps A's triangle: the other one is not an input of the function.
        X = solve_triangular(A, B, upper=upper, left=left)
        gB = solve_triangular(_mT(A), g, upper=not upper, left=left)
        gA = -(gB @ _mT(X)) if left else -(_mT(X) @ gB)
        return _tri(gA, upper), gB, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (``left``) or X A = B for triangular A, as
    ``torch.linalg.solve_triangular``: only A's ``upper`` (else lower) triangle is read, and
    with ``unitriangular`` not its diagonal either (taken as ones).

        >>> cr.linalg.solve_triangular(cr.tensor([[2.0, 0.0], [1.0, 1.0]]),
        ...                            cr.tensor([[2.0], [3.0]]), upper=False)
        tensor([[1.],
                [2.]])
    """
    if unitriangular:
        n = A.shape[-1]
        data = either.value(A)
        eye = backend.get_array_module(data).eye(n, dtype=data.dtype)  # on A's device
        A = _tri(A, upper, 1 if upper else -1) + (Tensor(eye) if isinstance(A, Tensor) else eye)
    if isinstance(A, Tensor) or isinstance(B, Tensor):
        return SolveTriangular.apply(A, B, bool(upper), bool(left))
    return SolveTriangular().forward(A, B, upper, left)
