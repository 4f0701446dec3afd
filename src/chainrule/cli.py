"""``chainrule``: the command line. ``chainrule train`` trains an MLP classifier end to end;
``chainrule evaluate <run-folder>`` reloads a trained run and measures it again.

    $ chainrule train                       # digits, the default recipe, ~98% test accuracy
    $ chainrule train moons --hidden 32,32 --epochs 50 --out runs/moons
    $ chainrule train mnist:~/data/mnist --hidden 256,128 --epochs 15
    $ chainrule evaluate runs/moons

Errors (bad options, unreadable data) print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import sys
import time

EXIT_USAGE = 2

# The defaults of `chainrule train` with no options, measured on digits (README, report).
DEFAULTS = dict(dataset="digits", model="mlp", hidden="256,128", activation="relu", dropout=0.1,
                batch_norm=True, optimizer="adamw", lr=2e-3, momentum=0.9, weight_decay=1e-2,
                scheduler="cosine", epochs=40, batch_size=64, patience=10, seed=0,
                val_fraction=0.15, test_fraction=0.15, samples=1000, noise=None,
                label_column="-1", standardize="auto", label_smoothing=0.0,
                clip_grad_norm=None)
# The CNN's default label smoothing: on the digits (seeds 0-5) its test accuracy is 0.9932
# on average with it, 0.9913 without.
CNN_LABEL_SMOOTHING = 0.1
EVAL_BATCH = 1024  # evaluation batch size: fixed, so `evaluate` re-measures the same sums
CHECKPOINT = "checkpoint.safetensors"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (no usage dump) and exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes like 128,64, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


MAX_SAMPLES = 10_000_000  # toy sets: 10^7 points is 160 MB; a recorded 10^12 must not allocate


def _sample_count(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SAMPLES} points, got {text!r}")
    return value


def _non_negative(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
        if value < 0 or value != value:
            raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
        return value
    return parse


def _fraction(text: str) -> float:
    value = _non_negative(float)(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's "(default: ...)" after each help, except where the help words its own."""

    def _get_help_string(self, action):
        if "(default: " in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from .train.recipe import ACTIVATIONS, OPTIMIZERS, SCHEDULERS  # noqa: PLC0415

    fmt = _DefaultsFormatter
    parser = _Parser(prog="chainrule", description="chainrule: deep learning on NumPy, "
                     "with a computational graph you can see.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train", formatter_class=fmt, help="train an MLP (or CNN) classifier on a dataset",
        description="Train a classifier, an MLP (Linear, [BatchNorm], activation, [Dropout] "
        "per hidden layer) or, on images, a CNN (--model cnn), with a stratified "
        "train/validation/test split, early stopping on the "
        "validation loss, and write model.safetensors, metrics.json and curves.png (and "
        "boundary.png for 2-D data) to the output folder.",
        epilog="datasets: digits (scikit-learn's 8x8 digits, bundled), the toy sets "
        "two_clouds, blobs, xor, circles, moons, spirals, triangle (SAMPLES points), "
        "mnist:FOLDER and fashion-mnist:FOLDER (the four IDX files, .gz or not), "
        "csv:FILE (numeric features and a label column). "
        "Examples: chainrule train | chainrule train moons --hidden 32,32 --epochs 60 | "
        "chainrule train csv:iris.csv --label-column species | "
        "chainrule train mnist:~/data/mnist --model cnn")
    data = train.add_argument_group("data")
    data.add_argument("dataset", nargs="?", default=DEFAULTS["dataset"],
                      help="what to train on: digits, a toy set, mnist:FOLDER, "
                      "fashion-mnist:FOLDER or csv:FILE")
    data.add_argument("--label-column", default=DEFAULTS["label_column"],
                      help="csv: the label column's name or index")
    data.add_argument("--samples", type=_sample_count, default=DEFAULTS["samples"],
                      help=f"toy sets: number of points (at most {MAX_SAMPLES})")
    data.add_argument("--noise", type=_non_negative(float), default=DEFAULTS["noise"],
                      help="toy sets: noise level (default: the set's own)")
    data.add_argument("--val-fraction", type=_fraction, default=DEFAULTS["val_fraction"],
                      help="share of the data held out for validation (early stopping)")
    data.add_argument("--test-fraction", type=_fraction, default=DEFAULTS["test_fraction"],
                      help="share held out for the final test (MNIST uses its test files)")
    data.add_argument("--standardize", choices=("auto", "yes", "no"),
                      default=DEFAULTS["standardize"],
                      help="scale features to zero mean, unit variance with the training "
                      "set's statistics; auto: yes except for images (digits, mnist)")

    model = train.add_argument_group("model")
    model.add_argument("--model", choices=("mlp", "cnn"), default=DEFAULTS["model"],
                       help="mlp: the hidden Linear layers; cnn (image datasets: digits, "
                       "mnist): two blocks of Conv2d 3x3 -> BatchNorm2d -> ReLU -> MaxPool2d(2) "
                       "(32 and 64 channels), then Linear to the last --hidden size, ReLU, "
                       "--dropout and Linear to the classes")
    model.add_argument("--hidden", type=_hidden, default=DEFAULTS["hidden"],
                       help="hidden layer sizes, comma-separated")
    model.add_argument("--activation", choices=sorted(ACTIVATIONS),
                       default=DEFAULTS["activation"], help="activation after each hidden layer")
    model.add_argument("--dropout", type=_non_negative(float), default=DEFAULTS["dropout"],
                       help="dropout probability after each hidden layer (0: none)")
    model.add_argument("--batch-norm", action=argparse.BooleanOptionalAction,
                       default=DEFAULTS["batch_norm"], help="batch norm after each hidden Linear")

    opt = train.add_argument_group("optimization")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS["optimizer"],
                     help="the optimizer")
    opt.add_argument("--lr", type=_non_negative(float), default=DEFAULTS["lr"],
                     help="learning rate (the peak one for onecycle)")
    opt.add_argument("--momentum", type=_non_negative(float), default=DEFAULTS["momentum"],
                     help="sgd: momentum (Nesterov when > 0)")
    opt.add_argument("--weight-decay", type=_non_negative(float),
                     default=DEFAULTS["weight_decay"],
                     help="weight decay (decoupled for adamw, L2 for sgd and adam)")
    opt.add_argument("--label-smoothing", type=_non_negative(float), default=None,
                     help="cross-entropy label smoothing (default: 0.1 for the CNN, which "
                     "tests better with it, 0 for the MLP)")
    opt.add_argument("--clip-grad-norm", type=_non_negative(float),
                     default=DEFAULTS["clip_grad_norm"],
                     help="rescale each step's gradients to this global 2-norm at most")
    opt.add_argument("--scheduler", choices=SCHEDULERS, default=DEFAULTS["scheduler"],
                     help="learning-rate schedule over the epochs")
    opt.add_argument("--epochs", type=_positive_int, default=None,
                     help=f"maximum number of epochs (default: {DEFAULTS['epochs']}, or on a "
                     "large dataset as many as take about 5,000 steps, at least 3: 6 on MNIST)")
    opt.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                     help="mini-batch size")
    opt.add_argument("--patience", type=_non_negative(int), default=DEFAULTS["patience"],
                     help="early stopping: epochs without a better validation loss before "
                     "stopping, and the best epoch's weights are kept (0: off)")
    opt.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                     help="seed of the split, the initialization, dropout and shuffling")

    out = train.add_argument_group("output")
    out.add_argument("--out", default=None,
                     help="output folder (default: a new runs/<date-time>); refused if it "
                     "already holds a run, unless --overwrite")
    out.add_argument("--overwrite", action="store_true",
                     help="train into an --out that holds a run: its files are replaced as "
                     "the new ones are complete, and those the new run does not write are "
                     "removed when it ends")
    out.add_argument("--checkpoint", action="store_true",
                     help=f"write the whole training state to OUT/{CHECKPOINT} after every "
                     "epoch (and OUT/config.json), so that --resume can finish a killed run")
    out.add_argument("--resume", metavar="RUN",
                     help="finish the interrupted run in folder RUN with its own settings "
                     "(other options except --threads/--compile/--quiet/--no-progress are "
                     "ignored); "
                     "it ends with exactly the weights of an uninterrupted run")
    out.add_argument("--no-progress", action="store_true",
                     help="no progress bar (there is none anyway when stderr is not a terminal)")
    out.add_argument("--quiet", action="store_true", help="print only the final result")
    out.add_argument("--compile", action="store_true",
                     help="capture the training step once (cr.compile) and replay it for "
                     "every batch: the same numbers as without it, faster on small models")
    out.add_argument("--threads", type=_non_negative(int), default=1,
                     help="BLAS threads for the matrix products (0: the library's default). "
                     "An MLP's small products run fastest on one thread, above all on a "
                     "busy machine")

    evaluate = commands.add_parser(
        "evaluate", formatter_class=fmt, help="reload a trained run and print its test metrics",
        description="Rebuild the model of a run folder written by `chainrule train`, load "
        "model.safetensors, rebuild the same test split and print the test metrics.")
    evaluate.add_argument("run", help="a run folder (with metrics.json and model.safetensors)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--threads", type=_non_negative(int), default=1,
                          help="BLAS threads (as for train: the same count gives the same "
                          "rounding, so the saved numbers come back exactly)")
    return parser


def _version() -> str:
    from . import __version__  # noqa: PLC0415

    return f"chainrule {__version__}"


def _removes_empty_run_folder(command):
    """A run that fails before writing anything leaves no empty folder behind."""
    def run(args) -> int:
        try:
            return command(args)
        except BaseException:
            from .train import run_folder  # noqa: PLC0415

            run_folder.remove_if_empty(getattr(args, "claim", None))
            raise
    return run


def _check_preprocessing(preprocessing, where: str) -> dict:
    """``{}`` or ``{"mean": [...], "std": [...]}``: finite numbers, std > 0, same lengths."""
    if preprocessing == {}:
        return preprocessing

    def numbers(key):
        values = preprocessing.get(key) if isinstance(preprocessing, dict) else None
        if not isinstance(values, list) or not all(
                type(v) in (int, float) and math.isfinite(v) for v in values):
            raise ValueError(f"{where}: preprocessing.{key} is not a list of finite numbers")
        return values

    mean, std = numbers("mean"), numbers("std")
    if len(mean) != len(std) or not all(v > 0 for v in std):
        raise ValueError(f"{where}: preprocessing has {len(mean)} means and {len(std)} "
                         "standard deviations (all must be > 0)")
    return preprocessing


def _train_options() -> dict:
    """The `train` parser's actions by dest: the one definition of each setting's type."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def _check_config(config, where: str) -> dict:
    """A run's recorded settings, checked as `train` checks its options (types, ranges,
    choices), so a damaged or edited file gets one clear error before anything is built."""
    if not isinstance(config, dict):
        raise ValueError(f"{where}: the run's config is not a JSON object")
    missing = sorted(set(DEFAULTS) - set(config))
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    options = _train_options()
    for key in DEFAULTS:
        value, action = config[key], options[key]
        default = DEFAULTS[key]  # (argparse's is None where the data decide, as for epochs)
        if isinstance(default, str) and action.type is not None:
            default = action.type(default)  # as argparse converts a default
        if action.nargs == 0:  # a flag
            ok = isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(type(v) is int for v in value)
        elif isinstance(default, int):
            ok = type(value) is int
        elif default is None or isinstance(default, float):
            ok = (value is None and default is None) or (
                type(value) in (int, float) and math.isfinite(value))
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ValueError(f"{where}: {key} is {json.dumps(value)[:40]}, not a valid value")
        if value is None or action.nargs == 0:
            continue
        if action.choices is not None and value not in action.choices:
            raise ValueError(f"{where}: {key} is {value!r}; expected one of "
                             f"{', '.join(map(str, action.choices))}")
        if action.type is not None:  # the option's own range check
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            try:
                action.type(text)
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise ValueError(f"{where}: {key}: {exc}") from None
    return config


def _prepared(config: dict, preprocessing: dict | None = None):
    """The three splits as float32 (n, features) tensors, standardized when asked.

    With ``preprocessing`` (read back from metrics.json) the saved statistics are used.
    """
    from .train import recipe  # noqa: PLC0415

    data = recipe.load_splits(config["dataset"], seed=config["seed"],
                              val_fraction=config["val_fraction"],
                              test_fraction=config["test_fraction"],
                              samples=config["samples"], noise=config["noise"],
                              label_column=config["label_column"])
    if preprocessing is None:
        choice = config["standardize"]
        images = data.name in ("digits", "mnist", "fashion-mnist", "fashion_mnist")
        if choice == "yes" or (choice == "auto" and not images):
            mean, std = recipe.standardization(data.train[0])
            preprocessing = {"mean": mean.tolist(), "std": std.tolist()}
        else:
            preprocessing = {}
    if preprocessing and len(preprocessing["mean"]) != data.num_features:
        raise ValueError(f"the saved standardization has {len(preprocessing['mean'])} "
                         f"features, the data has {data.num_features}")

    def features(part):
        X, y = part
        if preprocessing:
            return recipe.standardize(X, preprocessing["mean"], preprocessing["std"]), y
        return X.reshape(len(X), -1), y

    return data, features(data.train), features(data.val), features(data.test), preprocessing


def _write_json(path, obj) -> None:
    from .io.atomic import atomic_write  # noqa: PLC0415

    text = json.dumps(obj, indent=2) + "\n"  # complete before the file is touched
    with atomic_write(path, who="chainrule") as f:
        f.write(text.encode("utf-8"))


def _limit_threads(threads: int):
    """Cap the BLAS thread pool (via threadpoolctl, installed with scikit-learn) if asked."""
    if not threads:
        return None
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def _with_threads(command):
    def run(args) -> int:
        limit = _limit_threads(args.threads)
        try:
            return command(args)
        finally:
            if limit is not None:
                limit.restore_original_limits()
    return run


def _resumed_config(folder: str) -> dict:
    from .train import run_folder  # noqa: PLC0415

    path = os.path.join(folder, "config.json")
    if not os.path.lexists(path) or not os.path.lexists(os.path.join(folder, CHECKPOINT)):
        raise FileNotFoundError(f"--resume: {folder} holds no interrupted run (it needs "
                                f"config.json and {CHECKPOINT}, written by --checkpoint)")
    saved = run_folder.read_json(path, "--resume")
    if not isinstance(saved, dict) or "config" not in saved:
        raise ValueError(f"--resume: {path} is not a run configuration")
    if isinstance(saved["config"], dict):
        saved["config"].setdefault("model", "mlp")  # runs from before --model existed
    return _check_config(saved["config"], f"--resume: {path}")


@_with_threads
@_removes_empty_run_folder
def cmd_train(args) -> int:
    import chainrule as cr  # noqa: PLC0415

    from . import nn  # noqa: PLC0415
    from .data import DataLoader, TensorDataset  # noqa: PLC0415
    from .train import (  # noqa: PLC0415
        EarlyStopping, EpochLogger, evaluate, fit, recipe, run_folder, save_weights,
    )

    started = time.perf_counter()
    if importlib.util.find_spec("safetensors") is None:  # find out now, not after training
        raise ImportError("chainrule train saves the model with safetensors: "
                          "pip install 'chainrule[train]'")
    if args.resume:
        out = os.path.expanduser(args.resume)
        config = _resumed_config(out)
    else:
        if args.out:  # refused now, not after loading the data
            run_folder.refuse_existing_run(os.path.expanduser(args.out), args.overwrite)
        config = {k: getattr(args, k) for k in DEFAULTS}
    if not config["dropout"] < 1:
        raise ValueError(f"--dropout must be below 1, got {config['dropout']}")
    data, train, val, test, preprocessing = _prepared(config)
    if config["epochs"] is None:
        config["epochs"] = recipe.default_epochs(len(train[1]), config["batch_size"])
    if config["label_smoothing"] is None:
        config["label_smoothing"] = CNN_LABEL_SMOOTHING if config["model"] == "cnn" else 0.0
    model_config = {"in_features": data.num_features, "hidden": list(config["hidden"]),
                    "classes": data.num_classes, "activation": config["activation"],
                    "dropout": config["dropout"], "batch_norm": config["batch_norm"]}
    if config.get("model", "mlp") == "cnn":
        from .train.cnn import image_shape  # noqa: PLC0415
        model_config.update(model="cnn", image_shape=list(image_shape(data.num_features)))
    if args.resume:  # the recorded sizes against the checkpoint, before building the model
        run_folder.check_weights(model_config, os.path.join(out, CHECKPOINT),
                                 os.path.join(out, "config.json"))
    cr.manual_seed(config["seed"])
    model = recipe.build_model(model_config)
    optimizer = recipe.make_optimizer(config["optimizer"], model.parameters(), config["lr"],
                                      momentum=config["momentum"],
                                      weight_decay=config["weight_decay"])
    shuffle = cr.Generator().manual_seed(config["seed"])
    train_loader = DataLoader(TensorDataset(*train), config["batch_size"], shuffle=True,
                              generator=shuffle)
    val_loader = DataLoader(TensorDataset(*val), EVAL_BATCH)
    test_loader = DataLoader(TensorDataset(*test), EVAL_BATCH)
    scheduler = recipe.make_scheduler(config["scheduler"], optimizer, config["epochs"],
                                      len(train_loader), config["lr"])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config["label_smoothing"])

    if not args.resume:
        args.claim = run_folder.claim_run_folder(args.out, args.overwrite)
        out = args.claim.path
    checkpoint = os.path.join(out, CHECKPOINT) if args.checkpoint or args.resume else None
    if checkpoint and not args.resume:
        _write_json(os.path.join(out, "config.json"), {"config": config})
    show_bar = not args.no_progress and not args.quiet and sys.stderr.isatty()
    callbacks = []
    if config["patience"]:
        callbacks.append(EarlyStopping("val_loss", patience=config["patience"],
                                       restore_best=True))
    if not show_bar and not args.quiet:
        callbacks.append(EpochLogger())
    if not args.quiet:
        print(f"{'resuming' if args.resume else 'training'} on {data.name}: {len(train[1])} "
              f"train / {len(val[1])} validation / {len(test[1])} test samples, "
              f"{data.num_features} features, {data.num_classes} classes; output in {out}",
              flush=True)
    fit_started = time.perf_counter()
    history = fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=config["epochs"],
                  callbacks=callbacks, scheduler=scheduler, progress=show_bar,
                  clip_grad_norm=config["clip_grad_norm"] or None,
                  checkpoint=checkpoint, resume_from=checkpoint if args.resume else None,
                  compile=getattr(args, "compile", False))
    train_time = time.perf_counter() - fit_started
    val_metrics = evaluate(model, val_loader, loss_fn)
    test_metrics = evaluate(model, test_loader, loss_fn)

    save_weights(model, os.path.join(out, "model.safetensors"))
    stopper = callbacks[0] if config["patience"] else None
    report = {
        "chainrule": _version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "model": model_config,
        "classes": data.classes,
        "preprocessing": preprocessing,
        "samples": {"train": len(train[1]), "val": len(val[1]), "test": len(test[1])},
        "epochs_run": len(history),
        "best_epoch": stopper.best_epoch if stopper and stopper.best_epoch >= 0
        else len(history) - 1,
        "stopped_early": bool(stopper and stopper.stopped_epoch >= 0),
        "val": val_metrics,
        "test": test_metrics,
        "train_time_s": round(train_time, 3),
        "history": history.to_dict(),
    }
    try:
        history.plot(os.path.join(out, "curves.png"))
        if data.num_features == 2:  # a toy set in the plane: show what the net learned
            from .train import plot_decision_boundary  # noqa: PLC0415

            plot_decision_boundary(model, *test, os.path.join(out, "boundary.png"),
                                   title=f"{data.name}: test points on the learned classes")
    except ImportError as exc:  # matplotlib is an extra: the run is still worth keeping
        print(f"chainrule: note: no plots ({exc})", file=sys.stderr)
    report["wall_time_s"] = round(time.perf_counter() - started, 3)
    _write_json(os.path.join(out, "metrics.json"), report)
    if not args.resume:
        run_folder.remove_leftovers(args.claim)
    print(f"test accuracy {test_metrics['accuracy']:.4f}  test loss {test_metrics['loss']:.4f}  "
          f"({len(history)} epochs, best {report['best_epoch'] + 1}, "
          f"{report['wall_time_s']:.1f}s) -> {out}", flush=True)
    return 0


@_with_threads
def cmd_evaluate(args) -> int:
    from . import nn  # noqa: PLC0415
    from .data import DataLoader, TensorDataset  # noqa: PLC0415
    from .train import evaluate, load_weights, recipe, run_folder  # noqa: PLC0415

    folder = os.path.expanduser(args.run)
    meta_path = os.path.join(folder, "metrics.json")
    if not os.path.lexists(meta_path):
        raise FileNotFoundError(f"{folder} is not a run folder (no metrics.json in it)")
    report = run_folder.read_json(meta_path, "evaluate")
    if not isinstance(report, dict) or not {"config", "model", "preprocessing"} <= set(report):
        raise ValueError(f"{meta_path} lacks the config of a `chainrule train` run")
    if isinstance(report["config"], dict):
        report["config"].setdefault("model", "mlp")  # runs from before --model existed
    config = _check_config(report["config"], meta_path)
    model_config, preprocessing = report["model"], _check_preprocessing(
        report["preprocessing"], meta_path)
    weights = os.path.join(folder, "model.safetensors")
    if not os.path.lexists(weights):  # (a special file is the loader's to refuse)
        raise FileNotFoundError(f"{folder} has no model.safetensors")
    run_folder.check_weights(model_config, weights, meta_path)  # before building anything
    data, _, _, test, _ = _prepared(config, preprocessing)
    if (data.num_features, data.num_classes) != (model_config["in_features"],
                                                 model_config["classes"]):
        raise ValueError(f"{meta_path}: the model takes {model_config['in_features']} features "
                         f"and {model_config['classes']} classes, the data has "
                         f"{data.num_features} and {data.num_classes}")
    model = recipe.build_model(model_config)
    load_weights(model, weights)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.get("label_smoothing", 0.0))
    metrics = evaluate(model, DataLoader(TensorDataset(*test), EVAL_BATCH), loss_fn)
    if args.json:
        print(json.dumps({"test": metrics}))
    else:
        values = "  ".join(f"test {k} {v:.6f}" for k, v in metrics.items())
        print(f"{values}  ({len(test[1])} samples of {config['dataset']})")
    return 0


# What a user can cause (bad data, bad values, missing files or extras): one line, status 2.
_USER_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError, RuntimeError,
                FloatingPointError, MemoryError)


def main(argv=None) -> int:
    """Entry point of the ``chainrule`` console script and ``python -m chainrule``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = {"train": cmd_train, "evaluate": cmd_evaluate}[args.command]
    try:
        return command(args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, KeyError):
            message = f"missing key {message}"
        print(f"chainrule {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
