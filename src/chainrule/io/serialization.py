"""``cr.save`` / ``cr.load``: checkpoints in the safetensors format, never pickle.

Arrays go into the safetensors body under readable dotted keys (a flat state_dict gives
exactly its own keys, so other safetensors tools can read the file); everything around
them -- nested dicts, lists, tuples, numbers, strings, None, bools -- is JSON in the
header's metadata. Loading never executes anything from the file: a pickle (what
``torch.save`` or ``pickle.dump`` write) is recognized and refused.

    >>> cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
    ...         "ckpt.safetensors")
    >>> ckpt = cr.load("ckpt.safetensors")
    >>> model.load_state_dict(ckpt["model"])

Writes are atomic: the file is written to a temporary file in the same folder, flushed
to disk and renamed over the target, so a crash mid-write leaves the old file intact.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor, _make

__all__ = ["save", "load", "SerializationError"]

_FORMAT_KEY = "chainrule"
_FORMAT_VERSION = 1
# Largest header we accept: real headers are small; a huge length means a foreign file.
_MAX_HEADER = 100 * 2**20


class SerializationError(ValueError):
    """The file is not a checkpoint chainrule can read (truncated, foreign or a pickle)."""


def _safetensors_numpy():
    try:
        import safetensors.numpy as st_numpy  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise ImportError("cr.save and cr.load need the 'safetensors' package: "
                          "pip install safetensors  (or pip install 'chainrule[io]')") from exc
    return st_numpy


# --- encoding: Python structure <-> JSON + named arrays ----------------------------------

class _Encoder:
    def __init__(self):
        self.arrays = {}

    def _key(self, path):
        base = ".".join(path) if path else "tensor"
        key, n = base, 1
        while key in self.arrays:
            key, n = f"{base}#{n}", n + 1
        return key

    def encode(self, obj, path):
        if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
            kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
            arr = obj._array if isinstance(obj, Tensor) else obj
            if arr.dtype.kind in "OUSV" or arr.dtype.fields is not None:
                raise TypeError(f"save: cannot store an array of dtype {arr.dtype} at "
                                f"{'.'.join(path) or '<root>'} (numbers and bools only)")
            key = self._key(path)
            # (np.ascontiguousarray would turn a 0-d array into 1-d)
            self.arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
            return {"__array__": key, "kind": kind}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):
            if obj.dtype.kind in "OUSV":
                raise TypeError(f"save: cannot store a NumPy {obj.dtype} scalar")
            return {"__scalar__": self.encode(np.asarray(obj), path)}
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, type(None), tuple)):
                    where = ".".join(path) or "<root>"
                    raise TypeError(f"save: dict keys must be str, int, float, bool, None or "
                                    f"tuple, got {type(k).__name__} at {where}")
                items.append([self.encode(k, path), self.encode(v, path + [str(k)])])
            if isinstance(obj, OrderedDict):  # state_dicts come back as they went
                return {"__dict__": items, "ordered": True}
            return {"__dict__": items}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        raise TypeError(
            f"save: cannot store a {type(obj).__name__} at {'.'.join(path) or '<root>'}; "
            "chainrule saves tensors, arrays, numbers, strings, None, bools and "
            "dicts/lists/tuples of them (never arbitrary objects: no pickle)")


def _decode(node, arrays, where):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays, where) for v in node]
    if isinstance(node, dict):
        if "__array__" in node:
            key = node["__array__"]
            if key not in arrays:
                raise SerializationError(f"load: {where}: the metadata names tensor {key!r}, "
                                         "which the file does not hold")
            arr = arrays[key]
            return _make(arr) if node.get("kind") == "tensor" else arr
        if "__scalar__" in node:
            return _decode(node["__scalar__"], arrays, where)[()]
        if "__float__" in node:
            return float(node["__float__"])
        if "__tuple__" in node:
            return tuple(_decode(v, arrays, where) for v in node["__tuple__"])
        if "__dict__" in node:
            out = OrderedDict() if node.get("ordered") else {}
            for k, v in node["__dict__"]:
                k = _decode(k, arrays, where)
                out[tuple(k) if isinstance(k, list) else k] = _decode(v, arrays, where)
            return out
    raise SerializationError(f"load: {where}: unreadable structure in the metadata: {node!r:.80}")


# --- writing -----------------------------------------------------------------------------

def _write_atomic(path, payload: bytes):
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: cannot write {path}: folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save(obj, f):
    """Save ``obj`` -- a state_dict, or nested dicts/lists/tuples of tensors, arrays,
    numbers, strings, None and bools -- to ``f`` (a path or a binary file) as safetensors.

        >>> cr.save(model.state_dict(), "model.safetensors")
    """
    st_numpy = _safetensors_numpy()
    enc = _Encoder()
    structure = enc.encode(obj, [])
    metadata = {_FORMAT_KEY: json.dumps({"version": _FORMAT_VERSION, "structure": structure},
                                        allow_nan=False)}
    payload = st_numpy.save(enc.arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(payload)
        return
    _write_atomic(f, payload)


# --- reading -----------------------------------------------------------------------------

def _describe_foreign(head: bytes):
    """A hint for what a non-safetensors file is, from its first bytes."""
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in range(2, 6):
        return ("it is a Python pickle (as written by pickle.dump or old torch.save); chainrule "
                "never unpickles files, because unpickling can run arbitrary code")
    if head[:4] == b"PK\x03\x04":
        return ("it is a zip archive, probably written by torch.save (which holds a pickle); "
                "chainrule never unpickles files. In PyTorch, convert it with "
                "safetensors.torch.save_file(state_dict, path)")
    if head[:1] in (b"(", b"]", b"}") or head[:2] in (b"cc", b"cb"):
        return "it looks like a protocol-0/1 Python pickle; chainrule never unpickles files"
    if head[:6] == b"\x93NUMPY":
        return "it is a NumPy .npy file; read it with numpy.load(path, allow_pickle=False)"
    return None


def _read_bytes(f):
    if hasattr(f, "read"):
        return f.read(), getattr(f, "name", "<file object>")
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return fh.read(), path


def load(f, map_location=None, weights_only=True):
    """Load what ``cr.save`` wrote (or any safetensors file, as a dict of tensors).

    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility: loading
    is always weights-only, and pickles are refused without being run.
    """
    data, where = _read_bytes(f)
    foreign = _describe_foreign(data[:8])
    if len(data) < 8:
        raise SerializationError(
            f"load: {where} is not a safetensors file: only {len(data)} bytes"
            + (f"; {foreign}" if foreign else " (truncated or empty)"))
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > _MAX_HEADER or header_len > len(data) - 8:
        reason = foreign or (f"the header claims {header_len} bytes but the file has "
                             f"{len(data) - 8} after the length field "
                             "(truncated, or not safetensors)")
        raise SerializationError(f"load: {where} is not a readable safetensors file: {reason}")
    try:
        header = json.loads(data[8:8 + header_len])
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"load: {where} is not a safetensors file: its header is not "
                                 f"valid JSON ({foreign or exc})") from None
    st_numpy = _safetensors_numpy()
    try:
        arrays = st_numpy.load(data)
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type varies by version
        raise SerializationError(f"load: {where} is damaged or truncated: {exc}") from None
    metadata = header.get("__metadata__") or {}
    if _FORMAT_KEY not in metadata:
        # A safetensors file from elsewhere (e.g. safetensors.torch.save_file): flat tensors.
        return {k: _make(v) for k, v in arrays.items()}
    try:
        meta = json.loads(metadata[_FORMAT_KEY])
        version = meta["version"]
        structure = meta["structure"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SerializationError(f"load: {where}: damaged chainrule metadata ({exc})") from None
    if version > _FORMAT_VERSION:
        raise SerializationError(f"load: {where} was written by a newer chainrule "
                                 f"(format {version} > {_FORMAT_VERSION}); upgrade chainrule")
    return _decode(structure, arrays, where)
