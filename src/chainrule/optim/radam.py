"""RAdam: Adam whose adaptive step is switched on, and rectified, once its variance is
tractable.

    >>> model = nn.Linear(3, 1)
    >>> opt = cr.optim.RAdam(model.parameters(), lr=1e-3)
    >>> model(cr.ones(2, 3)).sum().backward(); opt.step()
    >>> sorted(opt.state[model.weight])      # torch's state names
    ['exp_avg', 'exp_avg_sq', 'step']
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_betas, check_hyper, effective_grad, lerp_


def radam_update(param, grad, exp_avg, exp_avg_sq, tmp, tmp2, *, step, lr, beta1, beta2, eps,
                 weight_decay, decoupled_weight_decay, maximize):
    """One RAdam step in place on arrays; ``step`` counts from 1.

        g = -grad if maximize else grad
        w = w * (1 - lr * weight_decay)          decoupled_weight_decay (as AdamW)
        g = g + weight_decay * w                 otherwise (L2 in the gradient)
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    w -= lr * m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r
        otherwise:  w -= lr * m_hat                  (SGD with momentum while v is unreliable)

    (Liu et al., 2019.) As in PyTorch, eps is added to sqrt(v) before the bias correction.
    """
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        g = effective_grad(param, grad, 0, maximize, tmp)
    else:
        g = effective_grad(param, grad, weight_decay, maximize, tmp)
    lerp_(exp_avg, g, 1 - beta1, tmp2)
    exp_avg_sq *= beta2
    sq = np.multiply(g, 1 - beta2, out=tmp2)
    sq *= g
    exp_avg_sq += sq
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    update = np.divide(exp_avg, bias_correction1, out=tmp)  # g is no longer needed
    update *= lr
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        adaptive = np.sqrt(exp_avg_sq, out=tmp2)
        adaptive += eps
        np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
        update *= adaptive
        update *= rect
    param -= update


class RAdam(Optimizer):
    """RAdam (Liu et al.), like ``torch.optim.RAdam``; the update is in :func:`radam_update`.

    Args: ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0``,
    ``decoupled_weight_decay=False`` (True: decay the weights as AdamW does),
    ``maximize=False``.

        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.RAdam([w], lr=0.001)
        >>> for _ in range(2):                  # two steps on sum(w ** 2)
        ...     opt.zero_grad(); (w ** 2).sum().backward(); opt.step()
        >>> w                                   # torch.optim.RAdam's numbers
        tensor([ 0.9960, -1.9920], requires_grad=True)
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    update = staticmethod(radam_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        check_hyper("learning rate", lr)
        check_hyper("epsilon value", eps)
        betas = check_betas(betas)
        check_hyper("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _hyper(self, group):
        beta1, beta2 = (float(b) for b in group["betas"])
        return dict(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                    weight_decay=float(group["weight_decay"]),
                    decoupled_weight_decay=group["decoupled_weight_decay"],
                    maximize=group["maximize"])

    def _state_spec(self, group):
        return (("exp_avg", 0), ("exp_avg_sq", 0))
