"""RMSprop: divide the step by a running root mean square of the gradient.

    >>> opt = cr.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99, centered=True)
"""

from __future__ import annotations

import numpy as np

from ..tensor import _make
from .optimizer import Optimizer, check_hyper, effective_grad, lerp_


def rmsprop_update(param, grad, square_avg, grad_avg, buf, tmp, tmp2, *, lr, alpha, eps,
                   weight_decay, momentum, centered, maximize):
    """One RMSprop step in place on arrays; ``tmp`` and ``tmp2`` are scratch arrays.

        g = -grad if maximize else grad;   g += weight_decay * w
        v = alpha * v + (1 - alpha) * g^2
        centered:  g_avg = lerp(g_avg, g, 1 - alpha);   s = sqrt(v - g_avg^2) + eps
        otherwise: s = sqrt(v) + eps
        momentum:  buf = momentum * buf + g / s;   w -= lr * buf
        otherwise: w -= lr * g / s
    """
    g = effective_grad(param, grad, weight_decay, maximize, tmp)
    square_avg *= alpha
    sq = np.multiply(g, 1 - alpha, out=tmp2)
    sq *= g
    square_avg += sq
    if centered:
        lerp_(grad_avg, g, 1 - alpha, tmp2)
        avg = np.multiply(grad_avg, grad_avg, out=tmp2)
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg, out=tmp2)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += np.divide(g, avg, out=avg)
        param += np.multiply(buf, -lr, out=avg)
    else:
        update = np.multiply(g, -lr, out=tmp)
        update /= avg
        param += update


class RMSprop(Optimizer):
    """RMSprop (Hinton), like ``torch.optim.RMSprop``; the update is in :func:`rmsprop_update`.

    Args: ``lr=1e-2``, ``alpha=0.99``, ``eps=1e-8``, ``weight_decay=0``, ``momentum=0``,
    ``centered=False``, ``maximize=False``.

        >>> opt = cr.optim.RMSprop([w], lr=1e-3, momentum=0.9)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        check_hyper("momentum value", momentum)
        check_hyper("weight_decay value", weight_decay)
        check_hyper("alpha value", alpha)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            momentum, centered = float(group["momentum"]), group["centered"]
            hyper = dict(lr=float(group["lr"]), alpha=float(group["alpha"]),
                         eps=float(group["eps"]),
                         weight_decay=float(group["weight_decay"]), momentum=momentum,
                         centered=centered, maximize=group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = _make(np.zeros((), np.float32))
                    state["square_avg"] = _make(np.zeros_like(p._array))
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = _make(np.zeros_like(p._array))
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = _make(np.zeros_like(p._array))
                state["step"]._array += 1
                arrays = [p._array, p.grad._array, state["square_avg"]._array,
                          state["grad_avg"]._array if centered else None,
                          state["momentum_buffer"]._array if momentum > 0 else None]
                for (w, g, v, ga, b), (t1, t2) in self._blocks(arrays, 2):
                    rmsprop_update(w, g, v, ga, b, t1, t2, **hyper)
                p._version += 1
        return loss
