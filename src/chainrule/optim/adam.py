"""Adam and AdamW: one update function, weight decay coupled (L2) or decoupled by a flag.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['exp_avg', 'exp_avg_sq', 'step']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, check_hyper, effective_grad, lerp_


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, tmp, tmp2, *, step, lr,
                beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay):
    """One Adam / AdamW step in place on arrays; ``step`` counts from 1.

    ``tmp`` and ``tmp2`` are scratch arrays shaped like ``param``.

        g = -grad if maximize else grad
        w = w * (1 - lr * weight_decay)              AdamW (decoupled)
        g = g + weight_decay * w                     Adam (L2 penalty in the gradient)
        m = beta1 * m + (1 - beta1) * g              (computed as lerp(m, g, 1 - beta1))
        v = beta2 * v + (1 - beta2) * g^2
        v_max = max(v_max, v)  and use v_max for v   (amsgrad)
        m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        w = w - lr * m_hat / (sqrt(v_hat) + eps)

    The denominator is sqrt(v_hat) + eps, as in the paper (Kingma & Ba, 2015) and
    PyTorch; one of the lecture notes writes v_hat + eps without the square root, which is
    not Adam. As in PyTorch, eps is added after the bias correction of sqrt(v).
    """
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay  # AdamW: shrink the weights, then a plain Adam step
        g = effective_grad(param, grad, 0, maximize, tmp)
    else:
        g = effective_grad(param, grad, weight_decay, maximize, tmp)

    # First moment, as torch's lerp.
    lerp_(exp_avg, g, 1 - beta1, tmp2)

    # Second moment.
    exp_avg_sq *= beta2
    sq = np.multiply(g, 1 - beta2, out=tmp2)
    sq *= g
    exp_avg_sq += sq

    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = np.sqrt(second, out=tmp2)
    denom /= bias_correction2 ** 0.5
    denom += eps
    update = np.multiply(exp_avg, -step_size, out=tmp)  # g (maybe in tmp) is no longer needed
    update /= denom
    param += update


class Adam(Optimizer):
    """Adam (Kingma & Ba), like ``torch.optim.Adam``; the update is in :func:`adam_update`.

    Args: ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0`` (an L2
    penalty folded into the gradient), ``amsgrad=False``, ``maximize=False``,
    ``decoupled_weight_decay=False`` (True is AdamW). The step divides by
    ``sqrt(v_hat) + eps``, as the paper and PyTorch do (not by ``v_hat + eps``).

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.Adam's numbers
        tensor([ 0.8004, -1.8002], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable", "fused")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        betas = check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    update = staticmethod(adam_update)

    def _hyper(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        return dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]), amsgrad=group["amsgrad"],
                    maximize=group["maximize"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])

    def _state_spec(self, group):
        return (("exp_avg", 0), ("exp_avg_sq", 0),
                ("max_exp_avg_sq", 0) if group["amsgrad"] else None)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), like ``torch.optim.AdamW``.

    Each step first shrinks the weights, ``w <- w * (1 - lr * weight_decay)``, then takes
    the Adam step without the decay in the moments. Default ``weight_decay=1e-2``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.05)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.AdamW's numbers
        tensor([ 0.7910, -1.7807], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def _setstate_groups(self):
        super()._setstate_groups()
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
