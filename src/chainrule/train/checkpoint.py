"""Checkpoints: a whole training state in one safetensors file (``cr.save``), no pickle.

A training state is a tree of the model's and the optimizer's ``state_dict()``, the
scheduler's, the callbacks', the generators' states and the history. ``cr.save`` puts
the arrays in the safetensors table and the rest, as JSON, in its metadata, and writes
atomically (temp file + rename): a run killed while saving keeps its previous checkpoint.

    >>> model = nn.Linear(3, 2)
    >>> save_state({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    >>> load_state("ckpt.safetensors")["epoch"]
    3

Model weights alone go to a plain state_dict file (``save_weights``) that the safetensors
package's PyTorch loader reads too.
"""

from __future__ import annotations

import os

from .. import io

_FORMAT = "chainrule.training-state/1"


def save_state(state: dict, path) -> None:
    """Write a training state (a dict of state_dicts, numbers, ...) to ``path`` atomically."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    io.save({"format": _FORMAT, **state}, path)


def load_state(path) -> dict:
    """Read a training state written by ``save_state``."""
    path = os.fspath(path)
    if not os.path.lexists(path):  # a special file is cr.load's to refuse, by name
        raise FileNotFoundError(f"load_state: no checkpoint at {path}")
    state = io.load(path)
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"load_state: {path} is a safetensors file but not a chainrule "
                         f"training checkpoint (written by fit(..., checkpoint=path))")
    state = dict(state)
    del state["format"]
    return state


def save_weights(model, path) -> None:
    """The model's ``state_dict()`` as a flat safetensors file (PyTorch's key names)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    io.save(model.state_dict(), path)


def load_weights(model, path) -> None:
    """Load a state_dict file (``save_weights``, ``cr.save``, or PyTorch's safetensors)."""
    path = os.fspath(path)
    if not os.path.lexists(path):  # a special file is cr.load's to refuse, by name
        raise FileNotFoundError(f"load_weights: no weights file at {path}")
    model.load_state_dict(io.load(path))
