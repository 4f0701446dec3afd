"""Classify sequences of varying length with an LSTM over packed input: does "1 2 3" occur?

Each sequence is 4 to 24 random symbols from {0, 1, 2, 3}; its label says whether the three
symbols 1, 2, 3 appear one right after the other somewhere in it. Half the sequences have
the pattern, half do not. A bag of symbols can hardly tell the two apart -- both halves have
nearly the same symbol counts, and a linear model on symbol frequencies and length reaches
about 0.63 -- so the model has to read the order.

The batch goes in as a ``PackedSequence`` (``pack_padded_sequence`` with
``enforce_sorted=False``), so the LSTM never runs over padding and ``h_n`` is each
sequence's state after its own last symbol; a Linear layer reads it.

    python examples/sequence_classification.py            # full run, >= 0.95 test accuracy
    python examples/sequence_classification.py --quick    # what the tests run
    python examples/sequence_classification.py --torch    # the same code on PyTorch
"""

from __future__ import annotations

import argparse
import importlib
import os
import time

# One BLAS thread, as torch.set_num_threads(1) below: the GEMMs here are small.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting, which NumPy reads at import

PATTERN = (1, 2, 3)
SYMBOLS = 4


def has_pattern(seq):
    k = len(PATTERN)
    return any(tuple(seq[i:i + k]) == PATTERN for i in range(len(seq) - k + 1))


def make_data(n, rng, min_len=4, max_len=24):
    """``n`` (sequence, label) pairs, half with the pattern, half without."""
    seqs, labels = [], []
    while len(seqs) < n:
        want = len(seqs) % 2  # alternate the labels
        length = int(rng.integers(min_len, max_len + 1))
        s = rng.integers(0, SYMBOLS, length)
        if want:
            at = int(rng.integers(0, length - len(PATTERN) + 1))
            s[at:at + len(PATTERN)] = PATTERN
        if has_pattern(s) != bool(want):
            continue
        seqs.append(s)
        labels.append(want)
    return seqs, np.array(labels, np.int64)


def batch_arrays(seqs):
    """Padded (B, T) symbols and the lengths."""
    lengths = np.array([len(s) for s in seqs], np.int64)
    X = np.zeros((len(seqs), lengths.max()), np.int64)
    for i, s in enumerate(seqs):
        X[i, :len(s)] = s
    return X, lengths


def bag_of_symbols_accuracy(train_seqs, train_y, test_seqs, test_y):
    """The best a linear model on symbol frequencies and length does (least squares)."""
    def features(seqs):
        return np.array([np.r_[np.bincount(s, minlength=SYMBOLS) / len(s), len(s) / 24, 1]
                         for s in seqs])
    w, *_ = np.linalg.lstsq(features(train_seqs), 2.0 * train_y - 1, rcond=None)
    return float(((features(test_seqs) @ w > 0) == test_y).mean())


def make_model(T, hidden):
    nn = T.nn
    pack = nn.utils.rnn.pack_padded_sequence

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(SYMBOLS, 8)
            self.rnn = nn.LSTM(8, hidden, batch_first=True)
            self.out = nn.Linear(hidden, 2)

        def forward(self, x, lengths):
            packed = pack(self.emb(x), lengths, batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.rnn(packed)
            return self.out(h_n[-1])

    return Classifier()


def accuracy(T, model, seqs, labels, chunk=500):
    correct = 0
    model.eval()
    with T.no_grad():
        for i in range(0, len(seqs), chunk):
            X, lengths = batch_arrays(seqs[i:i + chunk])
            pred = model(T.tensor(X), T.tensor(lengths)).argmax(-1).numpy()
            correct += int((pred == labels[i:i + chunk]).sum())
    model.train()
    return correct / len(seqs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (the tests)")
    parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    T = importlib.import_module("torch" if args.torch else "chainrule")
    if args.torch:
        T.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    train_seqs, train_y = make_data(4000, rng)
    test_seqs, test_y = make_data(1000, rng)
    bag = bag_of_symbols_accuracy(train_seqs, train_y, test_seqs, test_y)
    print(f"a linear model on symbol frequencies: test accuracy {bag:.3f}")
    steps = args.steps or (200 if args.quick else 1200)
    T.manual_seed(args.seed)
    model = make_model(T, hidden=32)
    opt = T.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = T.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for step in range(steps):
        idx = rng.integers(0, len(train_seqs), 64)
        X, lengths = batch_arrays([train_seqs[i] for i in idx])
        loss = loss_fn(model(T.tensor(X), T.tensor(lengths)), T.tensor(train_y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % max(steps // 4, 1) == 0:
            print(f"step {step + 1:5d}  loss {loss.item():.4f}")
    seconds = time.perf_counter() - start
    result = {"train_accuracy": accuracy(T, model, train_seqs, train_y),
              "test_accuracy": accuracy(T, model, test_seqs, test_y),
              "bag_of_symbols_accuracy": bag, "seconds": seconds, "steps": steps,
              "framework": T.__name__}
    print(f"{T.__name__}: test accuracy {result['test_accuracy']:.3f} (train "
          f"{result['train_accuracy']:.3f}) after {steps} steps, {seconds:.1f} s")
    return result


if __name__ == "__main__":
    main()
