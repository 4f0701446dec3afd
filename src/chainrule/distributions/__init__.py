"""Probability distributions, as ``torch.distributions``: sample, rsample (reparameterized,
differentiable), log_prob, entropy, mean and variance, and ``kl_divergence``.

Everything is built from chainrule ops, so log_prob, entropy and rsample are differentiable
in the parameters. With the default (torch-kind) generator, the draws of Normal, Uniform,
Bernoulli, Categorical, OneHotCategorical and MultivariateNormal's eps are torch's for the
same seed; Gamma and Beta sample through NumPy (see ``gamma.py``).

    >>> import chainrule.distributions as D
    >>> logits = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> policy = D.Categorical(logits=logits)
    >>> action = policy.sample()
    >>> (-policy.log_prob(action)).backward()     # REINFORCE's gradient
    >>> logits.grad.shape
    chainrule.Size([3])
"""

from . import constraints  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .gamma import Beta, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Distribution", "Gamma", "Independent",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Uniform", "constraints",
           "kl_divergence", "register_kl"]
