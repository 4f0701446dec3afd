"""The default generator reproduces torch's CPU random streams bit for bit.

Every row draws the same thing from chainrule and from torch 2.13 after the same seed and
asserts the arrays are equal (exactly: same dtype, same bits). Sizes run around 16, where
torch's normal_ switches from its scalar Box-Muller to its vectorized blocks of 16.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import intel_with_mkl
from chainrule.backend import exact_float

SEEDS = [0, 1, 42, 1234, 2147483647, 2**32 + 5, 2**63 - 1]




# torch's bernoulli_(p) (dropout) takes MKL's own stream on Intel CPUs, its default kernel
# (which chainrule reproduces) elsewhere
needs_torch_default_bernoulli = pytest.mark.skipif(
    intel_with_mkl(), reason="torch draws bernoulli_(p) from MKL's stream on Intel CPUs")
SIZES = [1, 2, 3, 15, 16, 17, 31, 32, 33, 48, 100, 1001]


def same(a, b):
    a = a._array if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    bad = np.flatnonzero(a.ravel() != b.ravel())
    assert bad.size == 0, f"{bad.size} of {a.size} differ, first at {bad[:5]}: " \
                          f"{a.ravel()[bad[:5]]} vs {b.ravel()[bad[:5]]}"


def pair(seed):
    return cr.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


# --- the engine and the unit floats ---------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_raw_words_match_torchs_mt19937(seed):
    g, tg = pair(seed)
    # randint with a range below 2**28 is word % range: range 2**27 shows 27 bits of each word
    same(cr.randint(0, 2**27, (700,), generator=g), torch.randint(0, 2**27, (700,), generator=tg))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_rand(seed, n, dtype):
    g, tg = pair(seed)
    same(cr.rand(n, generator=g, dtype=getattr(cr, dtype)),
         torch.rand(n, generator=tg, dtype=getattr(torch, dtype)))


# --- normal: the scalar path, the blocks of 16, the cached second sample ----------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_randn_both_paths(seed, n, dtype):
    g, tg = pair(seed)
    same(cr.randn(n, generator=g, dtype=getattr(cr, dtype)),
         torch.randn(n, generator=tg, dtype=getattr(torch, dtype)))


def test_randn_large_float32_uses_torchs_vectorized_log_and_sincos():
    g, tg = pair(7)
    same(cr.randn(256, 1024, generator=g), torch.randn(256, 1024, generator=tg))
    # across the chunks chainrule computes in, with a last block redrawn
    same(cr.randn(2 * 32768 + 5, generator=g), torch.randn(2 * 32768 + 5, generator=tg))
    same(cr.empty(70001).uniform_(-3, 5, generator=g),
         torch.empty(70001).uniform_(-3, 5, generator=tg))
    same(cr.empty(70001, dtype=cr.float64).uniform_(-3, 5, generator=g),
         torch.empty(70001, dtype=torch.float64).uniform_(-3, 5, generator=tg))


def test_randn_sequence_carries_the_cached_sample_like_torch():
    g, tg = pair(3)
    for n in [1, 3, 2, 16, 5, 1, 17, 4, 7, 40, 1]:  # odd scalar draws leave a sine cached
        same(cr.randn(n, generator=g, dtype=cr.float64), torch.randn(n, generator=tg,
                                                                   dtype=torch.float64))
        same(cr.randn(n, generator=g), torch.randn(n, generator=tg))


@pytest.mark.parametrize("n", [1, 5, 15, 16, 32, 64])
def test_float16_draws(n):
    # torch draws float16 as float32 and rounds; (normal_ of float16 at sizes >= 16 that are
    # not a multiple of 16 is known to differ in the last block)
    g, tg = pair(1)
    same(cr.rand(n, generator=g, dtype=cr.float16),
         torch.rand(n, generator=tg, dtype=torch.float16))
    same(cr.empty(n, dtype=cr.float16).uniform_(-1, 2, generator=g),
         torch.empty(n, dtype=torch.float16).uniform_(-1, 2, generator=tg))
    same(cr.randn(n, generator=g, dtype=cr.float16),
         torch.randn(n, generator=tg, dtype=torch.float16))


@pytest.mark.parametrize("mean,std", [(0.5, 2.0), (-1.3, 0.02), (3.0, 7.0), (0.0, 1e-3)])
@pytest.mark.parametrize("n", [3, 15, 16, 33, 500])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_(mean, std, n, dtype):
    g, tg = pair(11)
    a = cr.empty(n, dtype=getattr(cr, dtype)).normal_(mean, std, generator=g)
    b = torch.empty(n, dtype=getattr(torch, dtype)).normal_(mean, std, generator=tg)
    same(a, b)


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-0.3, 0.7), (2.5, 10.0), (-100.0, -99.0),
                                      (-1 / math.sqrt(5), 1 / math.sqrt(5))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_(low, high, dtype):
    g, tg = pair(5)
    a = cr.empty(7, 33, dtype=getattr(cr, dtype)).uniform_(low, high, generator=g)
    b = torch.empty(7, 33, dtype=getattr(torch, dtype)).uniform_(low, high, generator=tg)
    same(a, b)


@pytest.mark.parametrize("shape", [(5, 20), (3, 4), (2, 3, 8)])
def test_in_place_fills_of_transposed_views_follow_memory_order(shape):
    g, tg = pair(21)
    ours, theirs = cr.empty(*shape), torch.empty(*shape)
    ours.transpose(0, -1).normal_(generator=g)
    theirs.transpose(0, -1).normal_(generator=tg)
    same(ours, theirs)
    ours.transpose(0, -1).uniform_(-2, 3, generator=g)
    theirs.transpose(0, -1).uniform_(-2, 3, generator=tg)
    same(ours, theirs)
    cr.nn.init.normal_(ours.transpose(0, -1), generator=g)
    torch.nn.init.normal_(theirs.transpose(0, -1), generator=tg)
    same(ours, theirs)


# --- integers and permutations --------------------------------------------------------------

@pytest.mark.parametrize("low,high", [(0, 2), (0, 10), (-5, 5), (3, 1000), (0, 2**28 - 1),
                                      (0, 2**28), (0, 2**31), (-2**40, 2**40)])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randint(seed, low, high):
    g, tg = pair(seed)
    same(cr.randint(low, high, (40,), generator=g), torch.randint(low, high, (40,), generator=tg))


def test_randint_high_size_form_and_int32():
    g, tg = pair(9)
    same(cr.randint(10, (3, 4), generator=g), torch.randint(10, (3, 4), generator=tg))
    same(cr.randint(0, 7, (20,), generator=g, dtype=cr.int32),
         torch.randint(0, 7, (20,), generator=tg, dtype=torch.int32))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 16, 17, 100, 5000])
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_randperm(seed, n):
    g, tg = pair(seed)
    same(cr.randperm(n, generator=g), torch.randperm(n, generator=tg))


# --- multinomial ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 10), (4, 100)])
@pytest.mark.parametrize("num_samples,replacement", [(1, False), (1, True), (3, False),
                                                     (3, True), (50, True), (5, False)])
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_multinomial(seed, shape, num_samples, replacement):
    p = np.random.default_rng(seed).random(shape).astype(np.float32)
    g, tg = pair(seed)
    same(cr.multinomial(cr.tensor(p), num_samples, replacement, generator=g),
         torch.multinomial(torch.tensor(p), num_samples, replacement, generator=tg))


def test_multinomial_method_default_generator_and_float64():
    p = np.random.default_rng(0).random((2, 30))
    cr.manual_seed(2147483647)
    torch.manual_seed(2147483647)
    same(cr.tensor(p).multinomial(4), torch.tensor(p).multinomial(4))
    same(cr.tensor(p).multinomial(9, replacement=True),
         torch.tensor(p).multinomial(9, replacement=True))


@pytest.mark.parametrize("probs,num_samples,replacement,message", [
    ([[[0.5]]], 1, True, "1 or 2 dim"),
    ([1, 2], 1, True, "floating-point"),
    ([0.5, 0.5], 0, True, "n_sample <= 0"),
    ([0.5, 0.5], 3, False, "without replacement"),
    ([0.5, -0.1], 1, True, "element < 0"),
    ([0.5, float("nan")], 1, True, "nan"),
    ([0.0, 0.0], 1, True, "sum of probabilities"),
])
def test_multinomial_refuses_what_torch_refuses(probs, num_samples, replacement, message):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(probs), num_samples, replacement)
    with pytest.raises(RuntimeError, match=message):
        cr.multinomial(cr.tensor(probs), num_samples, replacement)


# --- bernoulli, dropout, the default inits ------------------------------------------------

@needs_torch_default_bernoulli
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(7,), (16,), (4, 33)])
def test_dropout_masks(p, shape):
    cr.manual_seed(17)
    torch.manual_seed(17)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    same(cr.nn.functional.dropout(cr.tensor(x), p), torch.nn.functional.dropout(torch.tensor(x), p))
    same(cr.nn.Dropout(p)(cr.tensor(x)), torch.nn.Dropout(p)(torch.tensor(x)))


def test_bernoulli_of_a_probability_tensor():
    p = np.random.default_rng(1).random((5, 9)).astype(np.float32)
    for dtype in (np.float32, np.float64):
        g, tg = pair(4)
        same(cr.bernoulli(cr.tensor(p.astype(dtype)), generator=g),
             torch.bernoulli(torch.tensor(p.astype(dtype)), generator=tg))


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("fan_in,fan_out", [(1, 1), (3, 4), (20, 7), (784, 128)])
def test_linear_default_init(seed, fan_in, fan_out):
    cr.manual_seed(seed)
    torch.manual_seed(seed)
    a, b = cr.nn.Linear(fan_in, fan_out), torch.nn.Linear(fan_in, fan_out)
    same(a.weight, b.weight)
    same(a.bias, b.bias)


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_",
                                  "kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(3, 4), (30, 20), (8, 3, 5)])
def test_init_functions(name, shape):
    cr.manual_seed(3)
    torch.manual_seed(3)
    same(getattr(cr.nn.init, name)(cr.empty(*shape)),
         getattr(torch.nn.init, name)(torch.empty(*shape)))


def test_orthogonal_init_draws_torchs_gaussian():
    cr.manual_seed(0)
    torch.manual_seed(0)
    ours = cr.nn.init.orthogonal_(cr.empty(6, 4))._array
    theirs = torch.nn.init.orthogonal_(torch.empty(6, 4)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)  # the QR itself may differ in an ulp


def test_a_small_mlp_and_embedding_init_in_order():
    cr.manual_seed(2147483647)
    torch.manual_seed(2147483647)
    ours = [cr.nn.Embedding(27, 10), cr.nn.Linear(30, 200), cr.nn.Linear(200, 27)]
    theirs = [torch.nn.Embedding(27, 10), torch.nn.Linear(30, 200), torch.nn.Linear(200, 27)]
    for a, b in zip(ours, theirs):
        for pa, pb in zip(a.parameters(), b.parameters()):
            same(pa, pb)
    same(cr.randn(27, 10), torch.randn(27, 10))  # the stream continues in step


def test_course_notebook_numbers():
    """``g = torch.Generator().manual_seed(2147483647)``: the bigram notebook's first draws."""
    g, tg = pair(2147483647)
    p = cr.rand(3, generator=g)
    tp = torch.rand(3, generator=tg)
    same(p, tp)
    p, tp = p / p.sum(), tp / tp.sum()
    same(cr.multinomial(p, 20, replacement=True, generator=g),
         torch.multinomial(tp, 20, replacement=True, generator=tg))


# --- state ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_state_round_trips_through_json(kind):
    g = cr.Generator(kind=kind).manual_seed(8)
    cr.randn(3, generator=g)  # leaves a cached normal for the torch kind
    state = json.loads(json.dumps(g.get_state()))
    a = [cr.randn(5, generator=g), cr.rand(20, generator=g), cr.randperm(9, generator=g)]
    h = cr.Generator(kind=kind)
    h.set_state(state)
    b = [cr.randn(5, generator=h), cr.rand(20, generator=h), cr.randperm(9, generator=h)]
    for x, y in zip(a, b):
        same(x, y._array)


def test_default_generator_is_torchs_and_numpy_kind_is_not():
    assert cr.Generator().kind == "torch"
    cr.manual_seed(0)
    torch.manual_seed(0)
    same(cr.randn(4), torch.randn(4))
    g = cr.Generator(kind="numpy").manual_seed(0)
    assert not np.array_equal(cr.randn(4, generator=g)._array, torch.randn(4).numpy())
    with pytest.raises(ValueError, match="kind"):
        cr.Generator(kind="philox")


def test_initial_seed_and_negative_seeds_as_torch():
    g, tg = pair(-1)
    assert g.initial_seed() == tg.initial_seed()
    same(cr.rand(5, generator=g), torch.rand(5, generator=tg))
    assert cr.Generator().initial_seed() == torch.Generator().initial_seed()


# --- the exact arithmetic underneath ------------------------------------------------------

def _round_to_float32(x):
    """The float32 nearest to the Fraction ``x`` (ties to even), without double rounding."""
    from fractions import Fraction

    guess = np.float32(float(x))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]
    return min(candidates, key=lambda c: (abs(Fraction(float(c)) - x),
                                          int(np.array(c).view(np.int32)) & 1))


def test_fma_rounds_once():
    from fractions import Fraction

    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(5000) for _ in range(3))
    want = np.array([float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)])
    assert np.array_equal(exact_float.fma64(a, b, c), want)
    # float32, with short operands too: their sums land on float32 midpoints often
    # (1 + 2**-12)**2 is a float32 midpoint; a tiny c decides the rounding, and float64
    # arithmetic alone (round to double, then to float) loses it
    k = np.arange(-20, 20, dtype=np.float32)
    base = np.float32(1 + 2**-12) * np.float32(2.0) ** k
    tiny = np.float32(2.0**-80) * np.where(k % 2 == 0, 1, -1).astype(np.float32)
    midpoints = (base, np.full(k.size, 1 + 2**-12, np.float32), tiny * np.float32(2.0) ** k)
    for a32, b32, c32 in [(a, b, c), midpoints]:
        a32, b32, c32 = (np.asarray(v, np.float32) for v in (a32, b32, c32))
        want32 = np.array([_round_to_float32(Fraction(float(x)) * Fraction(float(y))
                                             + Fraction(float(z)))
                           for x, y, z in zip(a32, b32, c32)], dtype=np.float32)
        assert np.array_equal(exact_float.fma32(a32, b32, c32), want32)


def test_rng_state_of_the_default_generator_as_torch_random():
    cr.manual_seed(5)
    torch.manual_seed(5)
    assert cr.initial_seed() == torch.initial_seed() == 5
    assert cr.random.initial_seed() == torch.random.initial_seed()
    saved, saved_torch = cr.get_rng_state(), torch.get_rng_state()
    first, first_torch = cr.randn(20), torch.randn(20)
    cr.set_rng_state(saved)
    torch.set_rng_state(saved_torch)
    same(cr.randn(20), first._array)
    same(first, torch.randn(20))
    same(first, first_torch)
    new_seed = cr.seed()
    assert cr.initial_seed() == new_seed and 0 <= new_seed < 2**64
