"""``chainrule.nn``: Modules, layers, initialization and losses, with PyTorch's names.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 10))
    >>> loss = nn.CrossEntropyLoss()(model(cr.randn(32, 784)), cr.randint(0, 10, (32,)))
    >>> loss.backward()
"""

from . import functional, init  # noqa: F401
from .activation import (  # noqa: F401
    CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
    LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, RReLU, SiLU, Sigmoid, Softmax, Softmax2d,
    Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold,
)
from .attention import MultiheadAttention  # noqa: F401
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from .distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d  # noqa: F401
from .linear import Bilinear, Flatten, Identity, Linear, Unflatten  # noqa: F401
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
    HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss, MultiMarginLoss,
    NLLLoss, SmoothL1Loss, SoftMarginLoss, TripletMarginLoss,
)
from .module import (  # noqa: F401
    Module, RemovableHandle, register_module_forward_hook, register_module_forward_pre_hook,
)
from .normalization import (  # noqa: F401
    BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm, RMSNorm,
)
from .padding import (  # noqa: F401
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
    ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from .parameter import Buffer, Parameter  # noqa: F401
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from .pooling import (  # noqa: F401
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool1d, MaxUnpool2d,
)
from .sparse import Embedding  # noqa: F401
from .upsampling import Fold, PixelShuffle, PixelUnshuffle, Unfold, Upsample  # noqa: F401
from .summary import ModelSummary  # noqa: F401
from .transformer import (  # noqa: F401
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)

import importlib.util as _importlib_util

# nn.utils (clip_grad_norm_, ...) is written with the optimizers; import it once it exists.
if _importlib_util.find_spec(f"{__name__}.utils") is not None:
    from . import utils  # noqa: F401

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it) and the
# public submodules.
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
    | {"functional", "init", "utils"}
)
