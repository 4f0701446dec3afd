"""The sequence models' cases (issue 14) and their shared weights and batches.

* ``lstm``: one LSTM layer, input 64, hidden 128, 32 steps, batch 32 (time-major), then
  cross-entropy on a Linear (10 classes) of the last hidden state; one SGD step.
* ``encoder``: one pre-norm Transformer encoder layer, d_model 128, 4 heads, feed-forward
  512, exact GELU, 64 steps, batch 16 (batch-first); loss mean(y^2); one SGD step.

Parameters are listed in PyTorch's order (``named_parameters``), which is the order every
implementation reports its gradients in.
"""

from __future__ import annotations

import numpy as np

from .cases import SEED, Case

LSTM_CLASSES = 10


def seq_cases(quick: bool = False) -> list[Case]:
    if quick:
        return [
            Case("lstm", "train", "LSTM 64-128, seq 8, b16, CE on the last state",
                 (64, 128, LSTM_CLASSES), batch=16, model="lstm", seq=8, target=1.25,
                 n_batches=2),
            Case("encoder", "train", "pre-norm encoder layer d64 h4 ff256 GELU, seq 16, b4",
                 (64, 4, 256), batch=4, model="encoder", seq=16, target=1.25, n_batches=2),
        ]
    return [
        Case("lstm", "train", "LSTM 64-128, seq 32, b32, CE on the last state",
             (64, 128, LSTM_CLASSES), batch=32, model="lstm", seq=32, target=1.25, n_batches=2),
        Case("encoder", "train", "pre-norm encoder layer d128 h4 ff512 GELU, seq 64, b16",
             (128, 4, 512), batch=16, model="encoder", seq=64, target=1.25, n_batches=2),
    ]


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def seq_data(case: Case, seed=SEED + 3) -> dict:
    rng = np.random.default_rng(seed)
    if case.model == "lstm":
        F, H, C = case.sizes
        k = 1 / np.sqrt(H)
        weights = [("rnn.weight_ih_l0", _uniform(rng, k, (4 * H, F))),
                   ("rnn.weight_hh_l0", _uniform(rng, k, (4 * H, H))),
                   ("rnn.bias_ih_l0", _uniform(rng, k, (4 * H,))),
                   ("rnn.bias_hh_l0", _uniform(rng, k, (4 * H,))),
                   ("head.weight", _uniform(rng, k, (C, H))),
                   ("head.bias", _uniform(rng, k, (C,)))]
        batches = [(rng.standard_normal((case.seq, case.batch, F), dtype=np.float32),
                    rng.integers(0, C, case.batch, dtype=np.int64))
                   for _ in range(case.n_batches)]
        return {"weights": weights, "batches": batches}
    D, heads, FF = case.sizes
    weights = [("self_attn.in_proj_weight", _uniform(rng, np.sqrt(6 / (4 * D)), (3 * D, D))),
               ("self_attn.in_proj_bias", _uniform(rng, 0.1, (3 * D,))),
               ("self_attn.out_proj.weight", _uniform(rng, 1 / np.sqrt(D), (D, D))),
               ("self_attn.out_proj.bias", _uniform(rng, 0.1, (D,))),
               ("linear1.weight", _uniform(rng, 1 / np.sqrt(D), (FF, D))),
               ("linear1.bias", _uniform(rng, 1 / np.sqrt(D), (FF,))),
               ("linear2.weight", _uniform(rng, 1 / np.sqrt(FF), (D, FF))),
               ("linear2.bias", _uniform(rng, 1 / np.sqrt(FF), (D,))),
               ("norm1.weight", 1 + _uniform(rng, 0.1, (D,))),
               ("norm1.bias", _uniform(rng, 0.1, (D,))),
               ("norm2.weight", 1 + _uniform(rng, 0.1, (D,))),
               ("norm2.bias", _uniform(rng, 0.1, (D,)))]
    batches = [(rng.standard_normal((case.batch, case.seq, D), dtype=np.float32), None)
               for _ in range(case.n_batches)]
    return {"weights": weights, "batches": batches}
