"""Character-level language models of first names: an MLP, a 2-layer LSTM and a causal Transformer.

Each model learns p(next character | the characters so far) on US first names and is scored
by its validation loss (mean negative log-likelihood per character, end of name included);
then it invents new names, sampling with ``multinomial`` at a temperature.

* MLP: the previous 3 characters, embedded and concatenated, through one tanh layer
  (Bengio et al. 2003) -- the baseline, blind beyond 3 characters.
* LSTM: 2 layers of 96 over the whole prefix, dropout 0.3 between and after them.
* Transformer: 4 pre-norm layers, d_model 64, 4 heads, GELU, dropout 0.1, a causal mask,
  learned positions.

Data: the 1990 US census first-name lists (``dist.female.first``, ``dist.male.first``,
public domain) as shipped in the ``names`` package 0.3.0 (``pip install names==0.3.0``,
in chainrule's ``datasets`` extra): about 5,000 distinct names.

The script is written against the PyTorch API only; ``--torch`` runs the very same code
with ``import torch`` in place of ``import chainrule``, to compare the losses.

    python examples/char_lm.py                    # chainrule, full run
    python examples/char_lm.py --torch            # the same with PyTorch
    python examples/char_lm.py --quick            # a few steps (what the tests run)
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import time

# Both frameworks run on one thread (torch.set_num_threads(1) below): on models this small,
# BLAS threads cost more than they give, and far more on a shared machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting, which NumPy reads at import

END = 0  # index of "." : start and end of every name
CHARS = ".abcdefghijklmnopqrstuvwxyz"
BLOCK = 3  # context of the MLP


def load_names():
    """The distinct first names of the census lists in the ``names`` package, lowercased."""
    try:
        import names  # noqa: PLC0415 - optional dataset package
    except ImportError as exc:
        raise SystemExit("char_lm: needs the `names` package: pip install names==0.3.0") from exc
    folder = os.path.dirname(names.__file__)
    found = set()
    for fname in ("dist.female.first", "dist.male.first"):
        with open(os.path.join(folder, fname), encoding="ascii") as f:
            for line in f:
                word = line.split()[0].lower() if line.strip() else ""
                if word.isalpha() and word.isascii():
                    found.add(word)
    return sorted(found)


def encode(words):
    return [[CHARS.index(c) for c in w] for w in words]


def mlp_pairs(seqs):
    """(context (N, 3), target (N,)) for every character and the end of every name."""
    xs, ys = [], []
    for s in seqs:
        ctx = [END] * BLOCK
        for c in s + [END]:
            xs.append(ctx)
            ys.append(c)
            ctx = ctx[1:] + [c]
    return np.array(xs, np.int64), np.array(ys, np.int64)


def padded(seqs, length):
    """Inputs "." + name and targets name + "." (B, length); targets padded with -100."""
    X = np.full((len(seqs), length), END, np.int64)
    Y = np.full((len(seqs), length), -100, np.int64)
    for i, s in enumerate(seqs):
        X[i, 1:len(s) + 1] = s
        Y[i, :len(s)] = s
        Y[i, len(s)] = END
    return X, Y


def make_models(T, max_len, quick):
    """The three model classes, written once against ``T`` (chainrule or torch)."""
    nn = T.nn
    vocab = len(CHARS)

    class MLP(nn.Module):
        def __init__(self, emb=16, hidden=200 if not quick else 64):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb)
            self.hidden = nn.Linear(BLOCK * emb, hidden)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, ctx):                     # (B, 3) -> (B, vocab)
            e = self.emb(ctx).reshape(ctx.shape[0], -1)
            return self.out(T.tanh(self.hidden(e)))

    class LSTM(nn.Module):
        def __init__(self, emb=32, hidden=96 if not quick else 48,
                     dropout=0.3 if not quick else 0.0):
            super().__init__()
            self.emb = nn.Embedding(vocab, emb)
            self.rnn = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, dropout=dropout)
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, x):                       # (B, t) -> (B, t, vocab)
            h, _ = self.rnn(self.emb(x))
            return self.out(self.drop(h))

    class Transformer(nn.Module):
        def __init__(self, d=64 if not quick else 32, heads=4, layers=4 if not quick else 2):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(max_len, d)
            drop = 0.1 if not quick else 0.0
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=drop, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.out = nn.Linear(d, vocab)

        def forward(self, x):
            t = x.shape[1]
            h = self.tok(x) + self.pos(T.arange(t))
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            h = self.blocks(h, mask=mask, is_causal=True)
            return self.out(self.norm(h))

    return {"mlp": MLP, "lstm": LSTM, "transformer": Transformer}


def train(T, name, model, data, steps, batch, lr, seed, eval_every=0):
    """AdamW with a cosine learning rate; returns the validation loss per character."""
    F = T.nn.functional
    opt = T.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    (X, Y), (Xv, Yv) = data
    for step in range(steps):
        if eval_every and step % eval_every == 0:
            print(f"  {name} step {step}: val loss {evaluate(T, model, Xv, Yv):.4f}")
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = rng.integers(0, len(X), batch)
        logits = model(T.tensor(X[idx]))
        loss = F.cross_entropy(logits.reshape(-1, len(CHARS)), T.tensor(Y[idx]).reshape(-1),
                               ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return evaluate(T, model, Xv, Yv)


def evaluate(T, model, X, Y, chunk=512):
    F = T.nn.functional
    total, count = 0.0, 0
    model.eval()
    with T.no_grad():
        for i in range(0, len(X), chunk):
            logits = model(T.tensor(X[i:i + chunk]))
            y = Y[i:i + chunk].reshape(-1)
            total += F.cross_entropy(logits.reshape(-1, len(CHARS)), T.tensor(y),
                                     ignore_index=-100, reduction="sum").item()
            count += int((y != -100).sum())
    model.train()
    return total / count


def sample(T, name, model, n, max_len, temperature, seed):
    """``n`` new names, one character at a time from softmax(logits / temperature)."""
    F = T.nn.functional
    T.manual_seed(seed)
    model.eval()
    seqs = np.full((n, 1), END, np.int64)
    done = np.zeros(n, bool)
    with T.no_grad():
        for _ in range(max_len - 1):
            if name == "mlp":
                ctx = np.concatenate([np.full((n, BLOCK), END), seqs], 1)[:, -BLOCK:]
                logits = model(T.tensor(ctx))
            else:
                logits = model(T.tensor(seqs))[:, -1]
            probs = F.softmax(logits / temperature, dim=-1)
            nxt = T.multinomial(probs, 1).numpy()[:, 0]
            nxt[done] = END
            seqs = np.concatenate([seqs, nxt[:, None]], 1)
            done |= nxt == END
            if done.all():
                break
    model.train()
    return ["".join(CHARS[c] for c in row[1:] if c != END) for row in seqs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, small models")
    parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
    parser.add_argument("--models", default="mlp,lstm,transformer")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=0, help="print the validation loss")
    args = parser.parse_args(argv)
    T = importlib.import_module("torch" if args.torch else "chainrule")
    if args.torch:
        T.set_num_threads(1)

    words = load_names()
    rng = np.random.default_rng(args.seed)
    words = [words[i] for i in rng.permutation(len(words))]
    n_val = len(words) // 10
    train_seqs, val_seqs = encode(words[n_val:]), encode(words[:n_val])
    if args.quick:
        train_seqs = train_seqs[:1500]
    max_len = max(len(s) for s in train_seqs + val_seqs) + 1
    data = {
        "mlp": (mlp_pairs(train_seqs), mlp_pairs(val_seqs)),
        "seq": (padded(train_seqs, max_len), padded(val_seqs, max_len)),
    }
    classes = make_models(T, max_len, args.quick)
    # name: (steps, batch, learning rate)
    plan = {"mlp": (4000, 256, 1e-2), "lstm": (3000, 64, 5e-3), "transformer": (3000, 64, 2e-3)}
    if args.quick:
        plan = {"mlp": (300, 128, 1e-2), "lstm": (300, 32, 1e-2), "transformer": (300, 32, 5e-3)}
    results = {"n_train": len(train_seqs), "n_val": len(val_seqs), "framework": T.__name__}
    print(f"{len(train_seqs)} training names, {len(val_seqs)} validation names, "
          f"on {T.__name__}; uniform guess = {math.log(len(CHARS)):.3f}")
    for name in args.models.split(","):
        steps, batch, lr = plan[name]
        steps = args.steps or steps
        T.manual_seed(args.seed)
        model = classes[name]()
        n_params = sum(p.numel() for p in model.parameters())
        start = time.perf_counter()
        val = train(T, name, model, data["mlp" if name == "mlp" else "seq"], steps, batch, lr,
                    args.seed, args.eval_every)
        seconds = time.perf_counter() - start
        names_out = sample(T, name, model, 8, max_len, args.temperature, args.seed)
        results[name] = {"val_loss": val, "seconds": seconds, "params": n_params,
                         "samples": names_out}
        print(f"{name:12s} {n_params:7d} params  val loss {val:.4f}  ({seconds:5.1f} s)  "
              f"samples: {', '.join(names_out)}")
    return results


if __name__ == "__main__":
    main()
