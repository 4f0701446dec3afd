"""device= on every layer that has it in PyTorch: honoured, or the factories' clear error."""

import pytest

import chainrule as cr
from chainrule import nn

LAYERS = {
    "Linear": lambda **kw: nn.Linear(2, 3, **kw),
    "Bilinear": lambda **kw: nn.Bilinear(2, 2, 3, **kw),
    "Conv1d": lambda **kw: nn.Conv1d(1, 2, 3, **kw),
    "Conv2d": lambda **kw: nn.Conv2d(1, 2, 3, **kw),
    "ConvTranspose2d": lambda **kw: nn.ConvTranspose2d(1, 2, 3, **kw),
    "BatchNorm1d": lambda **kw: nn.BatchNorm1d(3, **kw),
    "BatchNorm2d": lambda **kw: nn.BatchNorm2d(3, **kw),
    "LayerNorm": lambda **kw: nn.LayerNorm(3, **kw),
    "GroupNorm": lambda **kw: nn.GroupNorm(1, 2, **kw),
    "InstanceNorm1d": lambda **kw: nn.InstanceNorm1d(2, affine=True, **kw),
    "Embedding": lambda **kw: nn.Embedding(5, 2, **kw),
    "PReLU": lambda **kw: nn.PReLU(**kw),
    "RNN": lambda **kw: nn.RNN(2, 3, **kw),
    "LSTM": lambda **kw: nn.LSTM(2, 3, **kw),
    "GRU": lambda **kw: nn.GRU(2, 3, **kw),
    "LSTMCell": lambda **kw: nn.LSTMCell(2, 3, **kw),
    "MultiheadAttention": lambda **kw: nn.MultiheadAttention(4, 2, **kw),
    "TransformerEncoderLayer": lambda **kw: nn.TransformerEncoderLayer(4, 2, 8, **kw),
    "TransformerDecoderLayer": lambda **kw: nn.TransformerDecoderLayer(4, 2, 8, **kw),
    "Transformer": lambda **kw: nn.Transformer(4, 2, 1, 1, 8, **kw),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layer_built_on_cuda_without_cupy_or_gpu_says_so(name):
    if cr.cuda.is_available():
        pytest.skip("a GPU is here: the layer is really built on it")
    with pytest.raises(RuntimeError, match="CuPy|GPU"):
        LAYERS[name](device="cuda")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layer_built_with_device_and_dtype_has_them(name):
    layer = LAYERS[name](device="cpu", dtype=cr.float64)
    tensors = list(layer.parameters()) + [b for b in layer.buffers() if b.dtype.kind == "f"]
    assert tensors
    assert all(str(t.device) == "cpu" and t.dtype == cr.float64 for t in tensors)
