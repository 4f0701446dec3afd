"""The special functions the distributions need: lgamma and digamma / polygamma, whose one
home is ``chainrule.ops.special`` (imported from there; the Cholesky factor and the
triangular solve are ``cr.linalg``'s).

    >>> from chainrule.distributions.special import lgamma, digamma
    >>> x = cr.tensor([1.0, 2.5], requires_grad=True)
    >>> lgamma(x).sum().backward()
    >>> x.grad                                  # digamma(x)
    tensor([-0.5772,  0.7032])
"""

from ..ops.special import digamma, lgamma, polygamma, polygamma_array

__all__ = ["digamma", "lgamma", "polygamma", "polygamma_array"]
