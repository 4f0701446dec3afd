"""Overfitting, seen and cured: a big net on a few noisy points, then dropout, weight decay
and early stopping.

30 noisy "two moons" points, a 2-128-128-2 MLP, 300 epochs: training accuracy
reaches 100% while the validation loss climbs -- the net memorizes the noise. Each cure
is one argument away: nn.Dropout, AdamW's weight_decay, train.EarlyStopping.

    python examples/overfitting.py [--quick] [--plot FOLDER]   (curves of every variant)
"""

import argparse
import os

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.train import EarlyStopping, evaluate, fit


def mlp(hidden, dropout=0.0):
    extra = (lambda: [nn.Dropout(dropout)]) if dropout else (lambda: [])
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), *extra(),
                         nn.Linear(hidden, hidden), nn.ReLU(), *extra(),
                         nn.Linear(hidden, 2))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller net, fewer epochs")
    parser.add_argument("--plot", help="folder for the train/validation curves of each variant")
    args = parser.parse_args(argv)

    X, y = datasets.moons(30, noise=0.3, seed=0)
    Xv, yv = datasets.moons(500, noise=0.3, seed=1)
    hidden, epochs = (64, 80) if args.quick else (128, 300)
    variants = {
        "no regularization": dict(),
        "dropout 0.5": dict(dropout=0.5),
        "weight decay 2": dict(weight_decay=2.0),
        "early stopping": dict(patience=20),
    }
    results = {}
    print(f"{'variant':<20} {'epochs':>6} {'train acc':>9} {'val acc':>8} {'val loss':>9}")
    for name, cfg in variants.items():
        cr.manual_seed(0)
        model = mlp(hidden, cfg.get("dropout", 0.0))
        opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=cfg.get("weight_decay", 0.0))
        train = DataLoader(TensorDataset(X, y), 10, shuffle=True,
                           generator=cr.Generator().manual_seed(0))
        val = DataLoader(TensorDataset(Xv, yv), 500)
        callbacks = [EarlyStopping("val_loss", patience=cfg["patience"])] \
            if "patience" in cfg else []
        history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs,
                      callbacks=callbacks, progress=False)
        train_acc = evaluate(model, DataLoader(TensorDataset(X, y), 30))["accuracy"]
        final = evaluate(model, val, nn.CrossEntropyLoss())
        results[name] = {"train_accuracy": train_acc, "val_accuracy": final["accuracy"],
                         "val_loss": final["loss"], "epochs": len(history),
                         "min_val_loss": min(history["val_loss"])}
        print(f"{name:<20} {len(history):>6} {train_acc:>9.3f} {final['accuracy']:>8.3f} "
              f"{final['loss']:>9.4f}")
        if args.plot:
            os.makedirs(args.plot, exist_ok=True)
            history.plot(os.path.join(args.plot, name.replace(" ", "_") + ".png"))
    if args.plot:
        print(f"curves in {args.plot}/")
    return results


if __name__ == "__main__":
    main()
