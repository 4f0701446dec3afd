"""Transformer layers, stacks and nn.Transformer against torch 2.13 in float64 with torch's
weights copied in: post- and pre-norm, relu / gelu / callable activations, every mask kind,
batch_first; parameter gradients; gradcheck; state_dict keys both ways; errors."""

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from oracle import assert_close, to_numpy

RNG = np.random.default_rng(7)
TOL = dict(atol=1e-9, rtol=1e-7)
D, HEADS, FF = 8, 2, 16


def _copy(m, t):
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})


def _compare(out_c, out_t, m, t, inputs):
    assert_close(out_c, out_t, what="forward", **TOL)
    g = RNG.standard_normal(tuple(out_t.shape))
    (out_c * cr.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for c, tt in inputs:
        assert_close(c.grad, tt.grad, what="grad of an input", **TOL)
    tp = dict(t.named_parameters())
    for n, p in m.named_parameters():
        assert_close(p.grad, tp[n].grad, what=f"grad of {n}", **TOL)


def _x(shape):
    a = RNG.standard_normal(shape)
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _activation(name):
    if name == "callable":
        return F.silu, torch.nn.functional.silu
    if name == "module":
        return nn.GELU("tanh"), torch.nn.GELU("tanh")
    return name, name


def _masks(kind, L, S, N):
    out = {}
    if "causal" in kind:
        out["mask"] = (nn.Transformer.generate_square_subsequent_mask(L, dtype=cr.float64),
                       torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64))
    if "bool" in kind:
        m = RNG.random((L, S)) < 0.3
        m[:, 0] = False
        out["mask"] = (cr.tensor(m), torch.tensor(m))
    if "kpm" in kind:
        k = np.zeros((N, S), bool)
        k[-1, S - 2:] = True
        out["kpm"] = (cr.tensor(k), torch.tensor(k))
    return out


ENCODER = [
    # (layer kwargs, masks, batch_first)
    (dict(), "", False),
    (dict(norm_first=True), "causal", False),
    (dict(activation="gelu"), "kpm", True),
    (dict(activation="gelu", norm_first=True), "causal+kpm", True),
    (dict(activation="callable"), "bool", False),
    (dict(activation="module", bias=False), "bool+kpm", False),
]


@pytest.mark.parametrize("kw,masks,bf", ENCODER, ids=[f"{sorted(k.items())}-{m}-{b}"
                                                      for k, m, b in ENCODER])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_encoder_matches_torch(kw, masks, bf, num_layers):
    kw = dict(kw)
    act_c, act_t = _activation(kw.pop("activation", "relu"))
    lc = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation=act_c, batch_first=bf,
                                    dtype=cr.float64, **kw)
    lt = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation=act_t,
                                          batch_first=bf, dtype=torch.float64, **kw)
    norm_c = nn.LayerNorm(D, dtype=cr.float64)
    norm_t = torch.nn.LayerNorm(D, dtype=torch.float64)
    m = nn.TransformerEncoder(lc, num_layers, norm_c)
    t = torch.nn.TransformerEncoder(lt, num_layers, norm_t, enable_nested_tensor=False)
    _copy(m, t)
    L, N = 5, 3
    x = _x((N, L, D) if bf else (L, N, D))
    mk = _masks(masks, L, L, N)
    args_c = dict(mask=mk.get("mask", (None,))[0], src_key_padding_mask=mk.get("kpm", (None,))[0])
    args_t = dict(mask=mk.get("mask", (None, None))[1],
                  src_key_padding_mask=mk.get("kpm", (None, None))[1])
    _compare(m(x[0], **args_c), t(x[1], **args_t), m, t, [x])


DECODER = [
    (dict(), "", False),
    (dict(norm_first=True, activation="gelu"), "causal+kpm", True),
    (dict(activation="callable"), "causal", False),
]


@pytest.mark.parametrize("kw,masks,bf", DECODER, ids=[f"{sorted(k.items())}-{m}-{b}"
                                                      for k, m, b in DECODER])
def test_decoder_matches_torch(kw, masks, bf):
    kw = dict(kw)
    act_c, act_t = _activation(kw.pop("activation", "relu"))
    lc = nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0, activation=act_c, batch_first=bf,
                                    dtype=cr.float64, **kw)
    lt = torch.nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0, activation=act_t,
                                          batch_first=bf, dtype=torch.float64, **kw)
    m, t = nn.TransformerDecoder(lc, 2), torch.nn.TransformerDecoder(lt, 2)
    _copy(m, t)
    L, S, N = 4, 6, 2
    x = _x((N, L, D) if bf else (L, N, D))
    mem = _x((N, S, D) if bf else (S, N, D))
    mk = _masks(masks, L, L, N)
    mem_kpm = np.zeros((N, S), bool)
    mem_kpm[0, -1] = True
    args_c = dict(tgt_mask=mk.get("mask", (None,))[0],
                  tgt_key_padding_mask=mk.get("kpm", (None,))[0],
                  memory_key_padding_mask=cr.tensor(mem_kpm))
    args_t = dict(tgt_mask=mk.get("mask", (None, None))[1],
                  tgt_key_padding_mask=mk.get("kpm", (None, None))[1],
                  memory_key_padding_mask=torch.tensor(mem_kpm))
    _compare(m(x[0], mem[0], **args_c), t(x[1], mem[1], **args_t), m, t, [x, mem])


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu", batch_first=True)],
                         ids=["post-norm", "pre-norm-gelu-bf"])
def test_transformer_matches_torch(kw):
    torch.manual_seed(0)
    t = torch.nn.Transformer(D, HEADS, 2, 2, FF, dropout=0.0, dtype=torch.float64, **kw)
    m = nn.Transformer(D, HEADS, 2, 2, FF, dropout=0.0, dtype=cr.float64, **kw)
    _copy(m, t)
    bf = kw.get("batch_first", False)
    src = _x((2, 5, D) if bf else (5, 2, D))
    tgt = _x((2, 4, D) if bf else (4, 2, D))
    mc = nn.Transformer.generate_square_subsequent_mask(4, dtype=cr.float64)
    mt = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 3:] = True
    out_c = m(src[0], tgt[0], tgt_mask=mc, src_key_padding_mask=cr.tensor(kpm),
              memory_key_padding_mask=cr.tensor(kpm), tgt_is_causal=True)
    out_t = t(src[1], tgt[1], tgt_mask=mt, src_key_padding_mask=torch.tensor(kpm),
              memory_key_padding_mask=torch.tensor(kpm), tgt_is_causal=True)
    _compare(out_c, out_t, m, t, [src, tgt])


def test_state_dict_both_ways_init_and_eval():
    cr.manual_seed(1)
    m = nn.Transformer(16, 4, 1, 1, 32)
    t = torch.nn.Transformer(16, 4, 1, 1, 32)
    assert list(m.state_dict()) == list(t.state_dict())
    for n, p in m.named_parameters():
        a = p.detach().numpy()
        if a.ndim > 1:  # Xavier-uniform everywhere
            bound = np.sqrt(6 / sum(a.shape))
            assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound, n
    t.load_state_dict({k: torch.from_numpy(to_numpy(v).copy()) for k, v in m.state_dict().items()})
    m.eval()
    t.eval()
    src, tgt = RNG.standard_normal((6, 2, 16)), RNG.standard_normal((3, 2, 16))
    with torch.no_grad():
        expect = t(torch.tensor(src, dtype=torch.float32), torch.tensor(tgt, dtype=torch.float32))
    with cr.no_grad():
        got = m(cr.tensor(src, dtype=cr.float32), cr.tensor(tgt, dtype=cr.float32))
    assert_close(got, expect, atol=1e-5, rtol=1e-4)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    assert mask.dtype == cr.float32


def test_encoder_layer_gradcheck_and_dropout():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=True,
                                       dtype=cr.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=cr.float64)
    x = cr.tensor(RNG.standard_normal((3, 2, 4)), requires_grad=True)
    fn = lambda x: layer(x, src_mask=mask, is_causal=True)  # noqa: E731
    assert cr.autograd.gradcheck(fn, [x], atol=1e-6, rtol=1e-4)
    assert cr.autograd.gradgradcheck(fn, [x], atol=1e-6, rtol=1e-4)
    drop = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    y = cr.randn(4, 2, 8)
    drop.eval()
    np.testing.assert_array_equal(drop(y).detach().numpy(), drop(y).detach().numpy())
    drop.train()
    assert not np.allclose(drop(y).detach().numpy(), drop(y).detach().numpy())


ERRORS = [
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
     "TransformerEncoderLayer: activation should be relu/gelu"),
    (lambda: nn.TransformerEncoderLayer(8, 3), ValueError,
     "embed_dim must be divisible by num_heads, got embed_dim=8 and num_heads=3"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(cr.randn(5, 2, 8), cr.randn(4, 3, 8)), RuntimeError,
     r"Transformer: the batch number of src \(5, 2, 8\) and tgt \(4, 3, 8\) must be equal"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(cr.randn(5, 2, 8), cr.randn(4, 2, 6)), RuntimeError,
     "Transformer: the feature number of src .* must be equal to d_model"),
    (lambda: nn.TransformerEncoderLayer(8, 2, 16)(cr.randn(5, 2, 8),
                                                  src_mask=cr.zeros(4, 4)), RuntimeError,
     r"the shape of the 2-D attn_mask is \(4, 4\), but should be \(5, 5\)"),
]


@pytest.mark.parametrize("make,exc,match", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_module_and_shapes(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
