"""Run folders: where ``chainrule train`` puts a run, so that no run is ever lost.

    >>> claim = claim_run_folder(None)          # a new runs/<date-time>[-N], made exclusively
    >>> claim.path
    'runs/20...-...'
    >>> claim_run_folder(None).path != claim.path   # same second: another folder
    True

The rules, in this one place:

- A run gets a folder of its own. Without ``--out`` it is a new ``runs/<date-time>``, made
  with an exclusive ``mkdir`` (``-2``, ``-3``... when taken), so two runs started in the same
  second get two folders and a name is never used twice. An explicit ``--out`` that already
  holds a run (any of ``RUN_FILES``) is refused unless ``overwrite``.
- Files are written only when complete (``io.atomic_write``), and an overwriting run replaces
  the old files one by one as its own are ready; the old run's files it does not write are
  removed at its end (``remove_leftovers``), so the folder never ends as a mix of two runs. A
  run that fails before writing anything removes the folder it made (``remove_if_empty``).
- The JSON and weights a run left behind are read as untrusted: ``read_json`` refuses special
  and oversized files and turns every parse failure into one ValueError naming the file;
  ``check_weights`` compares the recorded model sizes with the weights file's header before
  any layer is allocated.
"""

from __future__ import annotations

import datetime
import inspect
import json
import os
import stat
from dataclasses import dataclass, field

from ..io.serialization import MAX_JSON_VALUES

CHECKPOINT = "checkpoint.safetensors"
# What a run writes: a folder holding any of these holds a run.
RUN_FILES = ("config.json", CHECKPOINT, "model.safetensors", "curves.png", "boundary.png",
             "metrics.json")
MAX_JSON_BYTES = 64 * 2**20  # the metrics.json of a long run is a few hundred KB

__all__ = ["CHECKPOINT", "RUN_FILES", "Claim", "claim_run_folder", "refuse_existing_run",
           "remove_leftovers", "remove_if_empty", "read_json", "check_weights"]


@dataclass
class Claim:
    """A run's folder: ``created`` if this run made it; ``previous``: the old run's files (by
    identity) when overwriting one."""

    path: str
    created: bool = False
    previous: dict = field(default_factory=dict)


def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def held_run_files(folder: str) -> list[str]:
    return [name for name in RUN_FILES if os.path.lexists(os.path.join(folder, name))]


def refuse_existing_run(folder: str, overwrite: bool = False) -> None:
    """An explicit output folder must not be a file, nor hold a run unless ``overwrite``."""
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise FileExistsError(f"--out {folder} exists and is not a folder")
    held = held_run_files(folder) if os.path.isdir(folder) else []
    if held and not overwrite:
        raise FileExistsError(
            f"--out {folder} already holds a run ({', '.join(held)}); choose another folder "
            f"or pass --overwrite to replace it" + (f" (or --resume {folder} to finish it)"
                                                    if CHECKPOINT in held else ""))


def _identity(path):
    info = os.lstat(path)
    return info.st_ino, info.st_mtime_ns


def claim_run_folder(requested=None, overwrite: bool = False, base: str = "runs") -> Claim:
    """Create (or, for an explicit folder, check again) the folder of a new run."""
    if requested:
        folder = os.path.expanduser(os.fspath(requested))
        os.makedirs(os.path.dirname(os.path.abspath(folder)), exist_ok=True)
        try:
            os.mkdir(folder)
        except FileExistsError:
            refuse_existing_run(folder, overwrite)  # another run may have claimed it since
            return Claim(folder, previous={name: _identity(os.path.join(folder, name))
                                           for name in held_run_files(folder)})
        return Claim(folder, created=True)
    stem = os.path.join(base, _stamp())
    os.makedirs(base, exist_ok=True)
    for n in range(1, 10_000):
        folder = stem if n == 1 else f"{stem}-{n}"
        try:
            os.mkdir(folder)
        except FileExistsError:
            continue
        return Claim(folder, created=True)
    raise FileExistsError(f"no free run folder name after {stem}-9999")


def remove_leftovers(claim: Claim) -> None:
    """After an overwriting run: remove the old run's files it did not write. An atomic write
    makes a new file, so an unchanged identity means a file of the old run."""
    for name, identity in claim.previous.items():
        path = os.path.join(claim.path, name)
        try:
            if _identity(path) == identity:
                os.remove(path)
        except FileNotFoundError:
            pass


def remove_if_empty(claim: Claim | None) -> None:
    """A run that failed before writing anything leaves no empty folder behind."""
    if claim is not None and claim.created and os.path.isdir(claim.path) \
            and not os.listdir(claim.path):
        os.rmdir(claim.path)


def read_json(path: str, what: str):
    """A JSON file of a run; special files, huge files and bad JSON: a ValueError naming it."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what}: {path} is not a regular file")
    if info.st_size > MAX_JSON_BYTES:
        raise ValueError(f"{what}: {path} has {info.st_size} bytes, more than a run's JSON "
                         f"({MAX_JSON_BYTES})")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what}: {path} is not valid JSON ({exc})") from None
    if text.count(",") + text.count("[") + text.count("{") > MAX_JSON_VALUES:
        # parsed, "[],[],..." would cost ~30x its size in Python objects
        raise ValueError(f"{what}: {path} holds more than {MAX_JSON_VALUES} JSON values")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{what}: {path} is JSON nested too deeply") from None
    except ValueError as exc:  # a JSONDecodeError
        raise ValueError(f"{what}: {path} is not valid JSON ({exc})") from None


def check_weights(model_config, path: str, where: str) -> None:
    """The model a run describes (``where``) against the tensors of its weights file or
    training checkpoint, from the file's header only: a damaged or edited size is refused
    before any layer is allocated."""
    from ..io import TensorInfo, describe  # noqa: PLC0415
    from . import recipe  # noqa: PLC0415

    if not isinstance(model_config, dict):
        raise ValueError(f"{where}: the model is not an MLP description (nor a CNN one): "
                         "expected a JSON object")
    kind = model_config.get("model", "mlp")
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"{where}: unknown model {kind!r} (expected 'mlp' or 'cnn')")
    params = set(inspect.signature(recipe.mlp_state_shapes).parameters) | {"model", "image_shape"}
    if not set(model_config) <= params:
        raise ValueError(f"{where}: the model is not an MLP description (nor a CNN one) with "
                         f"{', '.join(sorted(params))}")
    try:
        expected = recipe.model_state_shapes(model_config)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{where}: the model lacks a setting ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    state = describe(path)
    if isinstance(state, dict) and "format" in state and isinstance(state.get("model"), dict):
        state = state["model"]  # a training checkpoint: the model's state_dict is inside
    found = {k: v.shape for k, v in state.items() if isinstance(v, TensorInfo)} \
        if isinstance(state, dict) else {}
    if found == expected:
        return
    wrong = [f"{k} is {found[k]} in the file, {expected[k]} in {where}"
             for k in expected if k in found and found[k] != expected[k]]
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    detail = "; ".join(wrong[:2] + ([f"missing {', '.join(missing[:4])}"] if missing else [])
                       + ([f"unexpected {', '.join(extra[:4])}"] if extra else []))
    raise ValueError(f"{path} does not hold the model {where} describes: {detail}")
