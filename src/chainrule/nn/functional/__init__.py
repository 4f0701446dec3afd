"""``nn.functional``: the layers and losses as functions, with PyTorch's names and signatures.

One file per family, matching ``nn``'s module files (``activation.py`` for ``nn/activation.py``,
``loss.py`` for ``nn/loss.py``, ...); each is re-exported here by one import line.

    >>> import chainrule.nn.functional as F
    >>> x, W, b = cr.randn(8, 4), cr.randn(3, 4, requires_grad=True), cr.zeros(3)
    >>> logits = F.linear(x, W, b)
    >>> loss = F.cross_entropy(logits, cr.tensor([0, 1, 2, 0, 1, 2, 0, 1]), label_smoothing=0.1)
    >>> loss.backward()
    >>> W.grad.shape
    chainrule.Size([3, 4])
"""

from .activation import (  # noqa: F401
    celu, elu, gelu, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish, hardtanh,
    leaky_relu, log_softmax, logsigmoid, mish, prelu, relu, relu6, rrelu, selu, sigmoid, silu,
    softmax, softmin, softplus, softshrink, softsign, tanh, tanhshrink, threshold,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold  # noqa: F401
from .distance import cosine_similarity, pairwise_distance  # noqa: F401
from .dropout import alpha_dropout, dropout  # noqa: F401
from .linear import bilinear, linear  # noqa: F401
from .loss import (  # noqa: F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cosine_embedding_loss, cross_entropy,
    gaussian_nll_loss, hinge_embedding_loss, huber_loss, kl_div, l1_loss, margin_ranking_loss,
    mse_loss, multi_margin_loss, nll_loss, smooth_l1_loss, soft_margin_loss, triplet_margin_loss,
)
from .normalization import (  # noqa: F401
    batch_norm, group_norm, instance_norm, layer_norm, normalize, rms_norm,
)
from .pooling import (  # noqa: F401
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
    avg_pool2d, max_pool1d, max_pool2d, max_unpool1d, max_unpool2d,
)
from .sparse import embedding, one_hot  # noqa: F401
from .vision import (  # noqa: F401
    dropout1d, dropout2d, interpolate, pad, pixel_shuffle, pixel_unshuffle,
)

# A new family file (conv.py, pooling.py, ...) adds its one import line above; __all__ follows.
__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and callable(value) and not isinstance(value, type))
