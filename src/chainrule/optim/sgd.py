"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['momentum_buffer']
"""

from __future__ import annotations

import numpy as np

from ..backend.host_blas import add_scaled, scaled_sum
from .optimizer import Optimizer, check_hyper, effective_grad


def sgd_update(param, grad, buf, tmp, tmp2, *, lr, weight_decay, momentum, dampening,
               nesterov, maximize, first):
    """One SGD step in place on arrays (``buf`` is the momentum buffer, None without momentum).

    ``tmp`` and ``tmp2`` are scratch arrays shaped like ``param``; ``first`` says that
    ``buf`` holds nothing yet and is set to the first direction.

        d   = -g if maximize else g;   d += weight_decay * w          (L2 penalty)
        buf = d                          on the first step
        buf = momentum * buf + (1 - dampening) * d   afterwards
        d   = d + momentum * buf  (nesterov)   or   d = buf
        w  -= lr * d

    Each ``a + s * b`` is rounded once, as torch's ``add_(b, alpha=s)`` (``add_scaled``).
    """
    d = effective_grad(param, grad, weight_decay, maximize, tmp)
    if momentum != 0:
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            if dampening == 0:
                buf += d
            else:
                add_scaled(buf, 1 - dampening, d, scratch=tmp2)
        d = scaled_sum(d, momentum, buf, tmp2) if nesterov else buf
    add_scaled(param, -lr, d, scratch=tmp2 if d is tmp else tmp)


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), like ``torch.optim.SGD``.

    Args: ``lr=1e-3``, ``momentum=0``, ``dampening=0``, ``weight_decay=0`` (an L2 penalty
    ``weight_decay/2 * ||w||^2`` added to the loss), ``nesterov=False``, ``maximize=False``.
    The update is written out in :func:`sgd_update`.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.SGD's numbers
        tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    implementation_flags = ("foreach", "differentiable", "fused")

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    update = staticmethod(sgd_update)
    counts_steps = False  # torch's SGD keeps no step counter

    def _hyper(self, group):
        return dict(lr=float(group["lr"]), weight_decay=float(group["weight_decay"]),
                    momentum=float(group["momentum"]), dampening=float(group["dampening"]),
                    nesterov=group["nesterov"], maximize=group["maximize"])

    def _state_spec(self, group):
        # The buffer starts as the first step's direction, so it is created empty.
        return (("momentum_buffer", None),) if group["momentum"] != 0 else ()

    def _update_group(self, work, hyper):
        # Plain SGD (no momentum: the group is stateless) is the common case of every training
        # step: its parameters are updated here, without a call per parameter.
        if hyper["weight_decay"] != 0 or hyper["maximize"]:
            return False
        lr = hyper["lr"]
        for p, grad in work:
            add_scaled(p._array, -lr, grad)
            p._version += 1
        return True

    def _update_param(self, p, grad, state, spec, hyper, fresh):
        if not spec and hyper["weight_decay"] == 0 and not hyper["maximize"]:
            add_scaled(p._array, -hyper["lr"], grad)  # plain SGD: no scratch, one pass
            return
        buf = state["momentum_buffer"]._array if spec else None
        for (w, g, b), (t1, t2) in self._blocks([p._array, grad, buf], 2):
            sgd_update(w, g, b, t1, t2, first=fresh, **hyper)
