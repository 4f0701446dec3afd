"""Checkpoints: a whole training state in one safetensors file, no pickle.

A state is any tree of dicts, lists, tuples, numbers, strings, NumPy arrays and Tensors
(a model's and an optimizer's ``state_dict()``, a scheduler's, generator states, the
history). Arrays go into the safetensors tensor table under their tree path; everything
else goes, as JSON, into the file's metadata. Writing is atomic (temp file + rename), so a
run killed while saving leaves the previous checkpoint intact.

    >>> save_state({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")  # doctest: +SKIP
    >>> load_state("ckpt.safetensors")["epoch"]                                       # doctest: +SKIP
    3
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from ..tensor import Tensor, _make

_FORMAT = "chainrule.checkpoint/1"


def _contiguous(array: np.ndarray) -> np.ndarray:
    # Not np.ascontiguousarray: it turns a 0-d array into shape (1,).
    return array if array.flags.c_contiguous else array.copy(order="C")


def _encode(obj, path: str, arrays: dict):
    """A JSON-able tree with arrays replaced by references into ``arrays``."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        array = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
        arrays[path] = _contiguous(array)
        kind = "__tensor__" if isinstance(obj, Tensor) else \
            "__ndarray__" if isinstance(obj, np.ndarray) else "__scalar__"
        # The shape goes along: safetensors readers may hand 0-d arrays back as (1,).
        return {kind: path, "shape": list(array.shape)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: _encode(v, f"{path}.{k}", arrays) for k, v in obj.items()}}
        # PyTorch's optimizer state is keyed by parameter index: keep the keys' types.
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save_state: dict key {k!r} at {path} is not a str or int")
            items.append([k, _encode(v, f"{path}.{k}", arrays)])
        return {"__items__": items}
    if isinstance(obj, (list, tuple)):
        encoded = [_encode(v, f"{path}.{i}", arrays) for i, v in enumerate(obj)]
        return {"__tuple__": encoded} if isinstance(obj, tuple) else encoded
    raise TypeError(f"save_state: cannot store a {type(obj).__name__} at {path}; "
                    f"use arrays, tensors, numbers, strings, lists and dicts")


def _decode(obj, arrays: dict):
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return _make(arrays[obj["__tensor__"]].reshape(obj["shape"]))
    if "__ndarray__" in obj:
        return arrays[obj["__ndarray__"]].reshape(obj["shape"])
    if "__scalar__" in obj:
        return arrays[obj["__scalar__"]].reshape(())[()]
    if "__dict__" in obj:
        return {k: _decode(v, arrays) for k, v in obj["__dict__"].items()}
    if "__items__" in obj:
        return {k: _decode(v, arrays) for k, v in obj["__items__"]}
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    raise ValueError(f"load_state: unknown entry {sorted(obj)} in the checkpoint")


def save_state(state, path) -> None:
    """Write ``state`` (a tree with arrays and Tensors in it) to ``path`` atomically."""
    from safetensors.numpy import save  # noqa: PLC0415 - the [io] extra, only when saving

    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, "state", arrays)
    blob = save(arrays, metadata={"format": _FORMAT, "tree": json.dumps(tree)})
    _atomic_write(path, blob)


def _atomic_write(path, blob: bytes) -> None:
    """Write ``blob`` to a temp file next to ``path``, flush it to disk, then rename it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_state(path):
    """Read a tree written by ``save_state`` (Tensors come back as Tensors)."""
    from safetensors import safe_open  # noqa: PLC0415

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_state: no checkpoint at {path}")
    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for a damaged header
        raise ValueError(f"load_state: {path} is not a readable safetensors file ({exc})") \
            from None
    if metadata.get("format") != _FORMAT or "tree" not in metadata:
        raise ValueError(f"load_state: {path} is a safetensors file but not a chainrule "
                         f"checkpoint (no {_FORMAT!r} metadata)")
    return _decode(json.loads(metadata["tree"]), arrays)


def save_weights(model, path) -> None:
    """The model's ``state_dict()`` as a plain safetensors file (PyTorch's key names)."""
    from safetensors.numpy import save  # noqa: PLC0415

    arrays = {k: _contiguous(np.asarray(v.data)) for k, v in model.state_dict().items()}
    _atomic_write(path, save(arrays, metadata={"format": "pt"}))


def load_weights(model, path) -> None:
    """Load a safetensors file of a state_dict (``save_weights``, ``cr.save``, PyTorch's)."""
    from safetensors.numpy import load_file  # noqa: PLC0415

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_weights: no weights file at {path}")
    model.load_state_dict(load_file(path))
