"""torch's CPU random streams, bit for bit: its mt19937 seeding and its transforms, in NumPy.

``TorchStreams`` holds a Mersenne Twister (NumPy's ``MT19937``, filled with the state that
torch's ``manual_seed`` makes) and turns its 32-bit words into numbers the way ATen's CPU
kernels do, vectorized:

- floats in [0, 1): the low 24 (float32) or 53 (float64, from two words, high first) bits
  times 2**-24 or 2**-53; ``uniform_(a, b)`` is ``fma(u, b - a, a)`` in the tensor's dtype;
- ``normal_``: fewer than 16 elements (or float16/float64... below 16) draw Box-Muller pairs
  from two 53-bit uniforms, returning the cosine and keeping the sine for the next draw;
  16 or more fill the tensor with uniforms and transform blocks of 16 (the last block
  redrawn when the size is not a multiple of 16), float32 with torch's 8-lane log/sincos;
- ``randint``: ``word % range + low``, two words when the range is 2**28 or more;
- ``randperm(n)``: Fisher-Yates swaps with ``word % (n - i)``;
- ``bernoulli_(p)``: a 53-bit uniform ``< p`` (torch's default kernel; with MKL on an Intel
  CPU torch draws dropout masks from MKL's own stream instead: see ``README``);
- ``exponential_``: ``-log1p(-u)`` from a 53-bit uniform; ``multinomial`` as torch: a
  binary search of the float cumulative sums with replacement, ``topk(p / Exp(1))`` without.

    >>> s = TorchStreams(2147483647)
    >>> s.draw_normal((3,), 0.0, 1.0, np.float32)  # torch.manual_seed(2147483647); torch.randn(3)
    array([ 1.5...
"""

from __future__ import annotations

import math

import numpy as np

from .exact_float import fma32, fma64, log_avx, sincos_avx

TORCH_DEFAULT_SEED = 67280421310721  # torch's default_rng_seed_val
_MASK24, _MASK53 = (1 << 24) - 1, np.uint64((1 << 53) - 1)
_TWO_PI_F32 = np.float32(2.0 * np.pi)
_BIG_RANGE = 1 << 28  # from here torch's randint draws two words per number


def _seeded_key(seed: int) -> np.ndarray:
    """The 624-word state that mt19937's init_genrand makes from the low 32 bits of ``seed``."""
    key = [int(seed) & 0xFFFFFFFF]
    for i in range(1, 624):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return np.array(key, dtype=np.uint32)


def _libm(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` of every element through the C library, as torch's compiled kernels call it.

    NumPy's own SIMD log and log1p differ from glibc's in the last bit for some inputs
    (1 in 12 for log1p on AVX-512); sin, cos and sqrt agree and stay vectorized.
    """
    return np.fromiter(map(fn, x.ravel().tolist()), np.float64, count=x.size).reshape(x.shape)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


class TorchStreams:
    """Random numbers with torch's CPU streams (see the module docstring)."""

    def __init__(self, seed: int = TORCH_DEFAULT_SEED):
        self._bits = np.random.MT19937(0)
        self.manual_seed(seed)

    # --- state -------------------------------------------------------------------------

    def manual_seed(self, seed: int) -> None:
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": _seeded_key(seed), "pos": 624}}
        self._normal_cache = None  # torch's next_double_normal_sample

    def get_state(self) -> dict:
        state = self._bits.state["state"]
        return {"key": [int(k) for k in state["key"]], "pos": int(state["pos"]),
                "next_normal": self._normal_cache}

    def set_state(self, state: dict) -> None:
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": np.array(state["key"], dtype=np.uint32),
                                      "pos": int(state["pos"])}}
        cache = state.get("next_normal")
        self._normal_cache = None if cache is None else float(cache)

    # --- raw words and unit floats -----------------------------------------------------

    def words(self, n: int) -> np.ndarray:
        """``n`` raw 32-bit outputs (as uint64)."""
        return self._bits.random_raw(int(n))

    def words64(self, n: int) -> np.ndarray:
        """``n`` 64-bit numbers, each from two words, the first one high (torch's random64)."""
        w = self.words(2 * int(n))
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def unit(self, n: int, dtype) -> np.ndarray:
        """``n`` floats in [0, 1) of ``dtype`` as torch's uniform_real_distribution makes them."""
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            return (self.words64(n) & _MASK53).astype(np.float64) * 2.0 ** -53
        bits = 11 if dtype == np.float16 else 24  # the dtype's significand digits
        mask = (1 << bits) - 1
        return (self.words(n) & mask).astype(np.float32) * np.float32(2.0 ** -bits)

    # --- distributions (each returns a new array of ``shape`` and ``dtype``) ----------

    def draw_uniform(self, shape, low, high, dtype) -> np.ndarray:
        """torch's ``uniform_(low, high)``: ``fma(u, high - low, low)`` in ``dtype``."""
        dtype = np.dtype(dtype)
        n = _numel(shape)
        if dtype == np.float64:
            lo, hi = np.float64(low), np.float64(high)
            return fma64(self.unit(n, dtype), hi - lo, lo).reshape(shape)
        # float32 arithmetic (float16 too: its accumulate type is float)
        lo, hi = np.float32(np.asarray(low, dtype)), np.float32(np.asarray(high, dtype))
        return fma32(self.unit(n, dtype), hi - lo, lo).astype(dtype).reshape(shape)

    def draw_normal(self, shape, mean, std, dtype, contiguous=True) -> np.ndarray:
        """torch's ``normal_(mean, std)``: the scalar path below 16 elements, blocks of 16 above."""
        dtype = np.dtype(dtype)
        n = _numel(shape)
        if n < 16 or not contiguous:
            return self._normal_scalar(n, mean, std).astype(dtype).reshape(shape)
        if dtype == np.float32:
            return self._normal_blocks_f32(n, np.float32(mean), np.float32(std)).reshape(shape)
        return self._normal_blocks(n, mean, std, dtype).reshape(shape)

    def _normal_scalar(self, n, mean, std) -> np.ndarray:
        """One Box-Muller pair per two numbers; the sine waits in the cache for the next call."""
        out = np.empty(n, np.float64)
        start = 0
        if n and self._normal_cache is not None:
            out[0], start, self._normal_cache = self._normal_cache, 1, None
        pairs = (n - start + 1) // 2
        if pairs:
            u = self.unit(2 * pairs, np.float64)
            radius = np.sqrt(-2.0 * _libm(math.log1p, -u[1::2]))
            theta = 2.0 * np.pi * u[0::2]
            both = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1).ravel()
            out[start:] = both[: n - start]
            if (n - start) % 2:
                self._normal_cache = float(both[-1])
        return fma64(out, np.float64(std), np.float64(mean))

    def _normal_blocks(self, n, mean, std, dtype) -> np.ndarray:
        """ATen's ``normal_fill`` for double (and half): uniforms first, then Box-Muller on 16s."""
        calc = np.float64 if dtype == np.float64 else np.float32
        data = self.unit(n, dtype).astype(calc)
        tail = self.unit(16, dtype).astype(calc) if n % 16 else None
        mean, std = calc(mean), calc(std)

        def fill(block):  # block: (k, 16)
            u1, u2 = 1 - block[:, :8], block[:, 8:]
            log = _libm(math.log, u1) if calc is np.float64 else np.log(u1)
            radius = np.sqrt(-2 * log)
            theta = calc(2.0 * np.pi) * u2
            fma = fma64 if calc is np.float64 else fma32
            return np.concatenate([fma(radius * np.cos(theta), std, mean),
                                   fma(radius * np.sin(theta), std, mean)], axis=1).ravel()

        k = n // 16
        data[: 16 * k] = fill(data[: 16 * k].reshape(k, 16))
        if tail is not None:
            data[n - 16:] = fill(tail.reshape(1, 16))
        return data.astype(dtype)

    def _normal_blocks_f32(self, n, mean, std) -> np.ndarray:
        """ATen's AVX2 ``normal_fill`` for float32: its own 8-lane log and sincos."""
        data = self.unit(n, np.float32)
        tail = self.unit(16, np.float32) if n % 16 else None

        def fill(block):
            radius = np.sqrt(np.float32(-2.0) * log_avx(np.float32(1.0) - block[:, :8]))
            sin, cos = sincos_avx(_TWO_PI_F32 * block[:, 8:])
            return np.concatenate([fma32(radius * cos, std, mean),
                                   fma32(radius * sin, std, mean)], axis=1).ravel()

        k = n // 16
        data[: 16 * k] = fill(data[: 16 * k].reshape(k, 16))
        if tail is not None:
            data[n - 16:] = fill(tail.reshape(1, 16))
        return data

    def draw_int(self, low, high, shape, dtype=np.int64) -> np.ndarray:
        """torch's ``randint(low, high)``: ``word % (high - low) + low``."""
        span = int(high) - int(low)
        n = _numel(shape)
        raw = self.words64(n) if span >= _BIG_RANGE else self.words(n)
        values = (raw % np.uint64(span)).astype(np.int64) + np.int64(low)
        return values.astype(dtype).reshape(shape)

    def draw_perm(self, n: int) -> np.ndarray:
        """torch's ``randperm(n)`` on the CPU: Fisher-Yates, swap i with i + word % (n - i)."""
        n = int(n)
        if n >= (2**32 - 1) // 20:
            raise ValueError(f"randperm: n={n} is too large for torch's small-n stream")
        perm = list(range(n))
        if n > 1:
            offsets = (self.words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
            for i, z in enumerate(offsets):  # sequential by nature: each swap sees the last
                j = i + z
                perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def draw_bernoulli(self, shape, p, dtype) -> np.ndarray:
        """torch's ``bernoulli_(p)`` with a number ``p``: 1 where a 53-bit uniform < p."""
        return (self.unit(_numel(shape), np.float64) < float(p)).astype(dtype).reshape(shape)

    def draw_bernoulli_tensor(self, probs: np.ndarray, dtype) -> np.ndarray:
        """torch's ``bernoulli(probs)``: per element a uniform of the probabilities' precision."""
        unit_dtype = np.float64 if probs.dtype == np.float64 else np.float32
        u = self.unit(probs.size, unit_dtype).reshape(probs.shape)
        return (u < probs.astype(unit_dtype)).astype(dtype)

    def draw_exponential(self, shape, lambd, dtype) -> np.ndarray:
        """torch's ``exponential_(lambd)``: ``-1/lambd * log1p(-u)`` with a 53-bit uniform."""
        u = self.unit(_numel(shape), np.float64)
        return ((-1.0 / lambd) * _libm(math.log1p, -u)).astype(dtype).reshape(shape)

    def draw_multinomial(self, probs: np.ndarray, num_samples: int, replacement: bool) -> np.ndarray:
        """torch's CPU multinomial over the rows of 1-D or 2-D ``probs`` (int64 indices)."""
        rows = probs.reshape(-1, probs.shape[-1])
        if not replacement or num_samples == 1:
            # Gumbel-max as torch: the largest p / q with q ~ Exp(1), drawn for the whole tensor
            q = self.draw_exponential(rows.shape, 1.0, rows.dtype)
            keys = rows / q
            # stable sort on -keys: ties (zero probabilities) keep the lower index first
            order = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
            return order.reshape(probs.shape[:-1] + (num_samples,)).astype(np.int64)
        calc = np.float64 if rows.dtype == np.float64 else np.float32
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for r, row in enumerate(rows.astype(calc)):
            cum = np.cumsum(row, dtype=calc)  # sequential float sums, as torch's loop
            cum = cum / cum[-1]
            cum[-1] = 1
            u = self.unit(num_samples, np.float64)
            out[r] = np.searchsorted(cum.astype(np.float64), u, side="left")
        return out.reshape(probs.shape[:-1] + (num_samples,))

    # --- NumPy Generator spellings (float64 results), for code written against NumPy's ----

    def random(self, size=None, dtype=np.float64):
        return self.draw_uniform(_size(size), 0.0, 1.0, dtype)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self.draw_uniform(_size(size), low, high, np.float64)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self.draw_normal(_size(size), loc, scale, np.float64)

    def standard_normal(self, size=None, dtype=np.float64):
        return self.draw_normal(_size(size), 0.0, 1.0, dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64):
        if high is None:
            low, high = 0, low
        return self.draw_int(low, high, _size(size), dtype)

    def permutation(self, x):
        if isinstance(x, (int, np.integer)):
            return self.draw_perm(int(x))
        x = np.asarray(x)
        return x[self.draw_perm(len(x))]


def _size(size) -> tuple:
    if size is None:
        return ()
    return tuple(int(s) for s in size) if np.iterable(size) else (int(size),)
