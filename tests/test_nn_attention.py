"""F.scaled_dot_product_attention and nn.MultiheadAttention against torch 2.13 in float64:
every mask kind, causal, scale, GQA, kdim/vdim != embed_dim, bias_kv, zero_attn; forward,
input and parameter gradients, second order; gradcheck; state_dict both ways; errors."""

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from oracle import assert_close, check_gradcheck, check_second_order, to_numpy

RNG = np.random.default_rng(41)
TOL = dict(atol=1e-10, rtol=1e-8)


def _pair(a, grad=True):
    if a is None:
        return None, None
    if a.dtype == np.bool_ or not grad:
        return cr.tensor(a), torch.tensor(a)
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _compare(outs_cr, outs_t, leaves):
    """Forward values, then the gradients of ``leaves`` [(cr, torch)] for one random upstream."""
    total_cr, total_t = 0, 0
    for k, (o, e) in enumerate(zip(outs_cr, outs_t)):
        if e is None:
            assert o is None
            continue
        assert_close(o, e, what=f"output {k}", **TOL)
        g = RNG.standard_normal(tuple(e.shape))
        total_cr = total_cr + (o * cr.tensor(g)).sum()
        total_t = total_t + (e * torch.tensor(g)).sum()
    want = [(c, t) for c, t in leaves if c is not None and c.requires_grad]
    got = cr.autograd.grad(total_cr, [c for c, _ in want], allow_unused=True)
    exp = torch.autograd.grad(total_t, [t for _, t in want], allow_unused=True)
    for i, (a, b) in enumerate(zip(got, exp)):
        b = torch.zeros_like(want[i][1]) if b is None else b
        a = np.zeros(tuple(b.shape)) if a is None else a
        assert_close(a, b, what=f"gradient {i}", **TOL)


def _bool(shape, p=0.7):
    m = RNG.random(shape) < p
    m[..., 0] = True  # every query sees at least one key
    return m


SDPA = [
    # (q shape, k shape, v shape, kwargs with numpy masks)
    ((4, 3), (5, 3), (5, 2), dict()),
    ((2, 4, 3), (2, 6, 3), (2, 6, 5), dict(is_causal=True)),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), dict(attn_mask=_bool((4, 6)))),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), dict(attn_mask=_bool((2, 3, 4, 6)))),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), dict(attn_mask=RNG.standard_normal((3, 4, 6)))),
    ((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), dict(is_causal=True, scale=0.7)),
    ((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3), dict(enable_gqa=True)),
    ((2, 6, 3, 4), (2, 3, 3, 4), (2, 3, 3, 4), dict(enable_gqa=True, is_causal=True)),
    ((3, 4, 5), (1, 6, 5), (1, 6, 2), dict(scale=0.25)),  # broadcast batch dims
]


@pytest.mark.parametrize("qs,ks,vs,kw", SDPA, ids=[f"{q}-{sorted(k)}" for q, _, _, k in SDPA])
def test_sdpa_matches_torch(qs, ks, vs, kw):
    q, k, v = (_pair(RNG.standard_normal(s)) for s in (qs, ks, vs))
    mask = kw.get("attn_mask")
    mask_pair = _pair(mask)
    rest = {n: val for n, val in kw.items() if n != "attn_mask"}
    out_c = F.scaled_dot_product_attention(q[0], k[0], v[0], attn_mask=mask_pair[0], **rest)
    out_t = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1],
                                                              attn_mask=mask_pair[1], **rest)
    _compare([out_c], [out_t], [q, k, v, mask_pair])


def test_sdpa_fully_masked_rows_give_zeros_as_torch():
    q, k, v = (_pair(RNG.standard_normal(s)) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 4)))
    mask = _bool((3, 5))
    mask[1] = False
    for m in (mask, np.where(mask, 0.0, -np.inf)):
        mc, mt = cr.tensor(m), torch.tensor(m)
        out_c = F.scaled_dot_product_attention(q[0], k[0], v[0], attn_mask=mc)
        out_t = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1], attn_mask=mt)
        _compare([out_c], [out_t], [q, k, v])
        assert not np.isnan(to_numpy(out_c)).any()


def test_sdpa_dropout_is_seeded_and_unbiased():
    q, k, v = (cr.tensor(RNG.standard_normal((2, 3, 4))) for _ in range(3))
    base = F.scaled_dot_product_attention(q, k, v).numpy()
    cr.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()
    cr.manual_seed(5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, base)
    mean = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.3).numpy()
                    for _ in range(3000)], axis=0)
    np.testing.assert_allclose(mean, base, atol=0.08)


@pytest.mark.parametrize("kw", [dict(), dict(is_causal=True), dict(mask=True)],
                         ids=["plain", "causal", "float-mask"])
def test_sdpa_gradcheck_and_second_order(kw):
    mask = RNG.standard_normal((3, 4)) if kw.get("mask") else None
    causal = kw.get("is_causal", False)

    def fn(q, k, v):
        m = None if mask is None else (cr.tensor(mask) if isinstance(q, cr.Tensor)
                                       else torch.tensor(mask))
        f = F.scaled_dot_product_attention if isinstance(q, cr.Tensor) \
            else torch.nn.functional.scaled_dot_product_attention
        return f(q, k, v, attn_mask=m, is_causal=causal)

    shapes = [(2, 3, 2), (2, 4, 2), (2, 4, 3)] if not causal else [(2, 4, 2), (2, 4, 2), (2, 4, 3)]
    check_gradcheck(shapes, lambda *xs: fn(*xs))
    check_second_order(shapes, fn)


def _mha_twin(*args, **kwargs):
    t = torch.nn.MultiheadAttention(*args, **kwargs).double()
    m = nn.MultiheadAttention(*args, **kwargs, dtype=cr.float64)
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


def _leaves(m, t):
    tp = dict(t.named_parameters())
    return [(p, tp[n]) for n, p in m.named_parameters()]


MHA = [
    # (constructor kwargs, L, S, N (None: unbatched), call kwargs, attention kind)
    (dict(), 4, 4, 2, dict(), "self"),
    (dict(batch_first=True), 4, 4, 3, dict(need_weights=False), "self"),
    (dict(), 3, 5, 2, dict(average_attn_weights=False), "cross"),
    (dict(), 3, 5, 2, dict(), "kv"),
    (dict(kdim=3, vdim=5), 4, 6, 2, dict(), "cross"),
    (dict(kdim=3, vdim=5, batch_first=True, bias=False), 4, 6, 2, dict(need_weights=False),
     "cross"),
    (dict(add_bias_kv=True), 4, 5, 2, dict(kpm="bool", attn_mask="bool2"), "kv"),
    (dict(add_zero_attn=True), 4, 5, 2, dict(kpm="float", attn_mask="float3"), "kv"),
    (dict(add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=3), 4, 5, 2,
     dict(kpm="bool", attn_mask="float2", average_attn_weights=False), "cross"),
    (dict(), 5, 5, 2, dict(attn_mask="causal", is_causal=True, need_weights=False), "self"),
    (dict(), 5, 5, 2, dict(attn_mask="causal", kpm="bool"), "self"),
    (dict(), 4, 6, None, dict(kpm="bool", attn_mask="bool3"), "cross"),
    (dict(batch_first=True), 4, 4, None, dict(attn_mask="bool2"), "self"),
    # batch_first runs on views of the projections in their own layout: every path again
    (dict(batch_first=True), 5, 5, 3, dict(kpm="float", attn_mask="float3",
                                           average_attn_weights=False), "self"),
    (dict(batch_first=True), 3, 5, 2, dict(kpm="bool"), "kv"),
    (dict(batch_first=True, add_bias_kv=True), 4, 5, 2, dict(kpm="bool", attn_mask="bool3"),
     "kv"),
    (dict(batch_first=True, add_zero_attn=True), 4, 4, 2, dict(attn_mask="float2"), "self"),
    (dict(batch_first=True, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5), 4, 5, 2,
     dict(kpm="float", average_attn_weights=False), "cross"),
    (dict(add_bias_kv=True), 4, 4, None, dict(kpm="bool"), "self"),
]


def _masks(spec, L, S, N, H):
    kw = dict(spec)
    kpm = kw.pop("kpm", None)
    am = kw.pop("attn_mask", None)
    batch = 1 if N is None else N
    masks = {}
    if kpm is not None:
        m = RNG.random((batch, S)) < 0.3
        m[:, 0] = False
        m = m[0] if N is None else m
        masks["key_padding_mask"] = m if kpm == "bool" else np.where(m, -np.inf, 0.0)
    if am == "causal":
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    elif am is not None:
        shape = (L, S) if am.endswith("2") else (batch * H, L, S)
        m = RNG.random(shape) < 0.3
        m[..., 0] = False
        masks["attn_mask"] = m if am.startswith("bool") else np.where(m, -np.inf, 0.0) \
            + RNG.standard_normal(shape) * 0.1
    return kw, masks


@pytest.mark.parametrize("ctor,L,S,N,call,kind", MHA, ids=[f"{c}-{k}-{sorted(a)}-{n}"
                                                           for c, _, _, n, a, k in MHA])
def test_multihead_attention_matches_torch(ctor, L, S, N, call, kind):
    E, H = 8, 2
    m, t = _mha_twin(E, H, **ctor)
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    bf = ctor.get("batch_first", False)

    def shape(n, d):
        if N is None:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)

    q = _pair(RNG.standard_normal(shape(L, E)))
    if kind == "self":
        k = v = q
    elif kind == "kv":
        k = v = _pair(RNG.standard_normal(shape(S, kdim)))
    else:
        k = _pair(RNG.standard_normal(shape(S, kdim)))
        v = _pair(RNG.standard_normal(shape(S, vdim)))
    kw, masks = _masks(call, L, S, N, H)
    mc = {n: cr.tensor(a) for n, a in masks.items()}
    mt = {n: torch.tensor(a) for n, a in masks.items()}
    out_c, w_c = m(q[0], k[0], v[0], **kw, **mc)
    out_t, w_t = t(q[1], k[1], v[1], **kw, **mt)
    leaves = [q] + ([k] if k is not q else []) + ([v] if v is not k else []) + _leaves(m, t)
    _compare([out_c, w_c], [out_t, w_t], leaves)


def test_multihead_attention_second_order_and_gradcheck():
    m, t = _mha_twin(4, 2, kdim=3, vdim=2)
    x = RNG.standard_normal((3, 2, 4))
    key = RNG.standard_normal((5, 2, 3))
    val = RNG.standard_normal((5, 2, 2))
    mask = RNG.random((2, 5)) < 0.3
    mask[:, 0] = False

    def fn(q, k, v):
        if isinstance(q, cr.Tensor):
            return m(q, k, v, key_padding_mask=cr.tensor(mask))[0]
        return t(q, k, v, key_padding_mask=torch.tensor(mask))[0]

    check_second_order([x.shape, key.shape, val.shape], fn, inputs=[x, key, val])
    check_gradcheck(None, fn, inputs=[x, key, val])


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_heads_as_views_second_order(batch_first):
    """Self-attention splits its fused projection into heads without a copy (SplitHeads):
    first and second derivatives through it against torch, and finite differences."""
    m, t = _mha_twin(4, 2, batch_first=batch_first)
    x = RNG.standard_normal((2, 3, 4))
    L = x.shape[1 if batch_first else 0]
    mask = np.triu(np.ones((L, L), bool), 1)

    def fn(q):
        if isinstance(q, cr.Tensor):
            return m(q, q, q, attn_mask=cr.tensor(mask), average_attn_weights=False)[0]
        return t(q, q, q, attn_mask=torch.tensor(mask), average_attn_weights=False)[0]

    check_second_order([x.shape], fn, inputs=[x])
    check_gradcheck(None, fn, inputs=[x])


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_without_weights_is_one_node_second_order(batch_first):
    """need_weights=False self-attention runs as one SelfAttention node from the q|k|v
    buffer to the merged heads: first and second derivatives against torch (a causal mask
    and a key padding mask), finite differences, and no split or merge nodes in the graph."""
    from chainrule.autograd.graph import topological_order
    m, t = _mha_twin(4, 2, batch_first=batch_first)
    x = RNG.standard_normal((2, 3, 4))
    L, N = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    mask = np.triu(np.ones((L, L), bool), 1)
    kpm = np.zeros((N, L), bool)
    kpm[0, -1] = True

    def fn(q):
        if isinstance(q, cr.Tensor):
            return m(q, q, q, attn_mask=cr.tensor(mask), key_padding_mask=cr.tensor(kpm),
                     need_weights=False)[0]
        # (torch's need_weights=False runs a fused kernel that has no double backward; its
        # math path gives the same output)
        return t(q, q, q, attn_mask=torch.tensor(mask), key_padding_mask=torch.tensor(kpm),
                 need_weights=True)[0]

    check_second_order([x.shape], fn, inputs=[x])
    check_gradcheck(None, fn, inputs=[x])
    out = fn(cr.tensor(x, requires_grad=True))
    names = [n.name for n in topological_order([out.grad_fn])]
    assert "self_attention" in names and "splitheads" not in names, names
    assert "attention" not in names and "permute" not in names, names


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_one_node_equals_the_split_path_with_dropout(batch_first):
    """With dropout, the one-node path (need_weights=False) draws the same mask as the
    split path (need_weights=True) from the same seed: same output, same gradients."""
    m = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=batch_first, dtype=cr.float64)
    x = RNG.standard_normal((3, 5, 8))
    results = []
    for need_weights in (False, True):
        cr.manual_seed(7)
        xc = cr.tensor(x, requires_grad=True)
        m.zero_grad()
        out = m(xc, xc, xc, need_weights=need_weights)[0]
        (out * out).sum().backward()
        results.append([out.detach().numpy(), xc.grad.numpy()]
                       + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.any(results[0][0] != 0)


def test_multihead_attention_dropout_and_init():
    cr.manual_seed(0)
    m = nn.MultiheadAttention(16, 4, dropout=0.5, add_bias_kv=True)
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    bound = np.sqrt(6 / (16 + 48))
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert m.bias_k.detach().numpy().std() > 0
    x = cr.randn(5, 2, 16)
    m.eval()
    a, b = m(x, x, x)[0], m(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    assert not np.allclose(m(x, x, x)[0].detach().numpy(), a.detach().numpy())
    t = torch.nn.MultiheadAttention(16, 4, dropout=0.5, add_bias_kv=True)
    t.load_state_dict({k: torch.from_numpy(to_numpy(v).copy())
                       for k, v in m.state_dict().items()})
    t.eval()
    m.eval()
    with torch.no_grad():
        assert_close(a, t(*(torch.tensor(x.numpy()),) * 3)[0], atol=1e-5, rtol=1e-5)
    assert repr(m) == repr(t)


ERRORS = [
    (lambda: nn.MultiheadAttention(10, 3), ValueError,
     "MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim=10 and "
     "num_heads=3"),
    (lambda: nn.MultiheadAttention(8, 2)(cr.randn(4, 2, 6), cr.randn(4, 2, 6), cr.randn(4, 2, 6)),
     ValueError, "was expecting embedding dimension of 8, but got 6"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(4, 2, 8),) * 3,
                                         attn_mask=cr.zeros(3, 4, dtype=cr.bool)),
     RuntimeError, r"the shape of the 2-D attn_mask is \(3, 4\), but should be \(4, 4\)"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(4, 2, 8),) * 3,
                                         attn_mask=cr.zeros(2, 4, 4, dtype=cr.bool)),
     RuntimeError, r"the shape of the 3-D attn_mask is \(2, 4, 4\), but should be \(4, 4, 4\)"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(4, 2, 8),) * 3,
                                         attn_mask=cr.zeros(4, 4, dtype=cr.int64)),
     TypeError, "MultiheadAttention: only bool and floating types of masks are supported"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(4, 2, 8),) * 3,
                                         key_padding_mask=cr.zeros(4, 2, dtype=cr.bool)),
     RuntimeError, r"key_padding_mask has shape \(4, 2\), expected .* \(2, 4\)"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(4, 2, 8),) * 3, is_causal=True),
     RuntimeError, "need attn_mask if specifying the is_causal hint"),
    (lambda: nn.MultiheadAttention(8, 2)(*(cr.randn(1, 4, 2, 8),) * 3), ValueError,
     "query should be unbatched 2-D or batched 3-D"),
    (lambda: F.scaled_dot_product_attention(cr.randn(2, 3, 4), cr.randn(2, 5, 4),
                                            cr.randn(2, 5, 4), is_causal=True,
                                            attn_mask=cr.ones(3, 5, dtype=cr.bool)),
     RuntimeError, "scaled_dot_product_attention: an explicit attn_mask should not be set"),
    (lambda: F.scaled_dot_product_attention(cr.randn(2, 3, 4), cr.randn(2, 5, 4),
                                            cr.randn(2, 5, 4),
                                            attn_mask=cr.ones(3, 4, dtype=cr.bool)),
     RuntimeError, r"attn_mask of shape \(3, 4\) does not broadcast to .* \(2, 3, 5\)"),
    (lambda: F.scaled_dot_product_attention(cr.randn(2, 3, 4), cr.randn(2, 5, 3),
                                            cr.randn(2, 5, 4)), ValueError,
     "scaled_dot_product_attention: query .* key .* disagree"),
    (lambda: F.scaled_dot_product_attention(cr.randn(1, 3, 2, 4), cr.randn(1, 2, 5, 4),
                                            cr.randn(1, 2, 5, 4), enable_gqa=True), ValueError,
     r"query heads \(3\) must be a multiple"),
]


@pytest.mark.parametrize("make,exc,match", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors_name_module_and_shapes(make, exc, match):
    with pytest.raises(exc, match=match):
        make()
