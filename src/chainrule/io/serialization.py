"""``cr.save`` / ``cr.load``: checkpoints in the safetensors format, never pickle.

Arrays go into the safetensors body under readable dotted keys (a flat state_dict gives
exactly its own keys, so other safetensors tools can read the file); everything around
them -- nested dicts, lists, tuples, numbers, strings, None, bools -- is JSON in the
header's metadata. Loading never executes anything from the file: a pickle (what
``torch.save`` or ``pickle.dump`` write) is recognized and refused.

    >>> model = nn.Linear(3, 2)
    >>> opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
    ...         "ckpt.safetensors")
    >>> ckpt = cr.load("ckpt.safetensors")
    >>> ckpt["epoch"], sorted(ckpt["model"])
    (3, ['bias', 'weight'])
    >>> model.load_state_dict(ckpt["model"])
    <All keys matched successfully>

Writes are atomic (``io.atomic``): a crash mid-write leaves the old file intact, a new file
gets the umask's permissions and a replaced file keeps its own.

What loading guarantees, whatever the file holds:

- Nothing in the file is executed, and only regular files are opened (a symlink to
  ``/dev/zero``, a FIFO or a folder is refused before a byte is read).
- Memory is bounded by the file's real size: the 8-byte length, the header and every
  declared shape and offset are checked against the size of the file before the tensor
  data is read, and the data is read once, straight into the arrays (about 1x the file).
- Damaged or hostile content (truncation, a lying header, wrong types or structures, JSON
  nested thousands deep) raises ``SerializationError`` (a ValueError) naming the file and what
  is wrong; never a TypeError, a RecursionError or an unpacking error.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import struct
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from .. import backend
from ..tensor import Tensor, _make
from .atomic import atomic_write

__all__ = ["save", "load", "describe", "SerializationError", "TensorInfo"]

_FORMAT_KEY = "chainrule"
_FORMAT_VERSION = 1
# Largest header we accept: real headers are small; a huge length means a foreign file.
_MAX_HEADER = 100 * 2**20
# Containers nested deeper than this are refused by save and load (real state is shallow);
# in the JSON each container is at most 4 levels, which stays far from Python's stack limit.
_MAX_DEPTH = 64
_MAX_JSON_DEPTH = 4 * _MAX_DEPTH
_MAX_NDIM = 64  # NumPy's own limit
_CHUNK = 2**24  # reads of a stream of unknown length go this far at a time
# JSON values (counted by their separators) allowed in a header: a real one has about ten per
# tensor. Parsed JSON costs up to ~30x its text in Python objects ("[],[],..."), so the count
# and not only the byte length bounds the memory a hostile header can take.
MAX_JSON_VALUES = 2**21
# The safetensors dtypes NumPy represents (the file is little-endian).
_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
           "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8",
           "C64": "<c8"}


class SerializationError(ValueError):
    """The file is not a checkpoint chainrule can read (truncated, foreign or a pickle)."""


def _safetensors_numpy():
    try:
        import safetensors.numpy as st_numpy  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise ImportError("cr.save needs the 'safetensors' package (cr.load reads the format "
                          "itself): pip install safetensors  (or pip install 'chainrule[io]')"
                          ) from exc
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

    def encode(self, obj, path, depth=0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: the object is nested more than {_MAX_DEPTH} levels deep "
                             f"at {'.'.join(path[:8]) or '<root>'}...")
        if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
            kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
            arr = obj._array if isinstance(obj, Tensor) else obj
            if arr.dtype.kind in "OUSV" or arr.dtype.fields is not None:
                raise TypeError(f"save: cannot store an array of dtype {arr.dtype} at "
                                f"{'.'.join(path) or '<root>'} (numbers and bools only)")
            key = self._key(path)
            arr = backend.to_device(arr, "cpu")  # files hold host arrays, from any device
            # (np.ascontiguousarray would turn a 0-d array into 1-d)
            self.arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
            return {"__array__": key, "kind": kind}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):
            if obj.dtype.kind in "OUSV":
                raise TypeError(f"save: cannot store a NumPy {obj.dtype} scalar")
            return {"__scalar__": self.encode(np.asarray(obj), path, depth + 1)}
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
                items.append([self.encode(k, path, depth + 1),
                              self.encode(v, path + [str(k)], depth + 1)])
            if isinstance(obj, OrderedDict):  # state_dicts come back as they went
                return {"__dict__": items, "ordered": True}
            return {"__dict__": items}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)], depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)], depth + 1)
                                  for i, v in enumerate(obj)]}
        raise TypeError(
            f"save: cannot store a {type(obj).__name__} at {'.'.join(path) or '<root>'}; "
            "chainrule saves tensors, arrays, numbers, strings, None, bools and "
            "dicts/lists/tuples of them (never arbitrary objects: no pickle)")


class TensorInfo(NamedTuple):
    """What ``describe`` puts where ``load`` would put an array: its safetensors name,
    shape, dtype and kind (``"tensor"``, ``"ndarray"`` or ``"scalar"``)."""

    name: str
    shape: tuple
    dtype: np.dtype
    kind: str


def _fail(where, message):
    return SerializationError(f"load: {where}: {message}")


class _Decoder:
    """The metadata's JSON back to Python, checking every node on the way.

    With ``arrays=None`` it builds the structure with ``TensorInfo`` placeholders: that pass
    validates the whole structure against the tensor table before any data is read.
    """

    def __init__(self, infos, where, arrays=None):
        self.infos, self.where, self.arrays, self.used = infos, where, arrays, set()

    def bad(self, message, node):
        text = json.dumps(node)
        text = text if len(text) <= 80 else text[:77] + "..."
        return _fail(self.where, f"{message} in the metadata: {text}")

    def array(self, node, scalar):
        if set(node) - {"__array__", "kind"}:
            raise self.bad("unexpected keys next to __array__", node)
        key, kind = node["__array__"], node.get("kind", "ndarray")
        if not isinstance(key, str) or kind not in ("tensor", "ndarray"):
            raise self.bad("an array reference needs a name and a kind (tensor or ndarray)",
                           node)
        info = self.infos.get(key)
        if info is None:
            raise _fail(self.where, f"the metadata names tensor {key!r}, which the file does "
                                    "not hold")
        if scalar and info.shape != ():
            raise _fail(self.where, f"the scalar {key!r} has shape {info.shape}, not ()")
        if self.arrays is None:
            return info._replace(kind="scalar" if scalar else kind)
        arr = self.arrays[key]
        if key in self.used:  # named twice: each place gets its own array
            arr = arr.copy()
        self.used.add(key)
        if scalar:
            return arr[()]
        return _make(arr) if kind == "tensor" else arr

    def node(self, node, depth=0, in_key=False):
        if depth > _MAX_JSON_DEPTH:
            raise _fail(self.where, f"the metadata is nested more than {_MAX_JSON_DEPTH} "
                                    "levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):  # (a list as a dict key: a tuple, as older files wrote)
            items = [self.node(v, depth + 1, in_key) for v in node]
            return tuple(items) if in_key else items
        if not isinstance(node, dict):
            raise self.bad("unreadable structure", node)
        if "__array__" in node:
            if in_key:
                raise self.bad("a dict key cannot be an array", node)
            return self.array(node, scalar=False)
        if len(node) == 1 and "__scalar__" in node:
            inner = node["__scalar__"]
            if not isinstance(inner, dict) or "__array__" not in inner:
                raise self.bad("__scalar__ must hold an array reference", node)
            return self.array(inner, scalar=True)
        if len(node) == 1 and "__float__" in node:
            if node["__float__"] not in ("inf", "-inf", "nan"):
                raise self.bad("__float__ must be 'inf', '-inf' or 'nan'", node)
            return float(node["__float__"])
        if len(node) == 1 and "__tuple__" in node:
            if not isinstance(node["__tuple__"], list):
                raise self.bad("__tuple__ must be a list", node)
            return tuple(self.node(v, depth + 1, in_key) for v in node["__tuple__"])
        if "__dict__" in node and not set(node) - {"__dict__", "ordered"}:
            return self.mapping(node, depth, in_key)
        raise self.bad("unreadable structure", node)

    def mapping(self, node, depth, in_key):
        items, ordered = node["__dict__"], node.get("ordered", False)
        if in_key:
            raise self.bad("a dict key cannot be a dict", node)
        if not isinstance(items, list) or not isinstance(ordered, bool):
            raise self.bad("__dict__ must be a list of [key, value] pairs", node)
        out = OrderedDict() if ordered else {}
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise self.bad("__dict__ must be a list of [key, value] pairs", item)
            key = self.node(item[0], depth + 2, in_key=True)
            try:
                hash(key)
            except TypeError:
                raise self.bad("unhashable dict key", item[0]) from None
            out[key] = self.node(item[1], depth + 2)
        return out


# --- writing -----------------------------------------------------------------------------

def save(obj, f):
    """Save ``obj`` -- a state_dict, or nested dicts/lists/tuples of tensors, arrays,
    numbers, strings, None and bools -- to ``f`` (a path or a binary file) as safetensors.

        >>> cr.save(nn.Linear(3, 2).state_dict(), "model.safetensors")
        >>> sorted(cr.load("model.safetensors"))
        ['bias', 'weight']
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
    with atomic_write(f, who="save") as out:
        out.write(payload)


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


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISSOCK, "a socket"))


def _not_regular(mode):
    """What a non-regular file is ("a FIFO (named pipe)", ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


class _Source:
    """The bytes of a checkpoint: ``size`` is what is left to read, None for a stream."""

    def __init__(self, raw, where, size):
        self.raw, self.where, self.size = raw, where, size

    def read(self, n, what, exact=True) -> bytes:
        """``n`` bytes (fewer only if not ``exact``), a bounded piece at a time."""
        pieces, got = [], 0
        while got < n:
            piece = self.raw.read(min(n - got, _CHUNK))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        if exact and got < n:
            raise _fail(self.where, f"the file ends inside {what} ({got} of {n} bytes; "
                                    "truncated)")
        return b"".join(pieces)

    def array(self, dtype, shape, nbytes, what) -> np.ndarray:
        if self.size is None or not hasattr(self.raw, "readinto"):
            # Unknown length: the bytes come first, so memory follows what really arrives.
            buffer = bytearray(self.read(nbytes, what))
            return np.frombuffer(buffer, dtype).reshape(shape) if nbytes \
                else np.empty(shape, dtype)
        arr = np.empty(shape, dtype)  # shape * itemsize was checked against the file size
        view, got = memoryview(arr.reshape(-1)).cast("B"), 0
        while got < nbytes:
            n = self.raw.readinto(view[got:])
            if not n:
                raise _fail(self.where, f"the file ends inside {what} (truncated)")
            got += n
        return arr


@contextlib.contextmanager
def _opened(f):
    if hasattr(f, "read"):
        where = getattr(f, "name", "<file object>")
        kind = None
        with contextlib.suppress(AttributeError, OSError, ValueError):  # (BytesIO: no fileno)
            kind = _not_regular(os.fstat(f.fileno()).st_mode)
        if kind in ("a folder", "a character device", "a block device"):
            raise _fail(where, f"this is {kind}, not a checkpoint file")
        size = None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            if f.seekable():
                start = f.tell()
                size = f.seek(0, os.SEEK_END) - start
                f.seek(start)
        yield _Source(f, where, size)
        return
    path = os.fspath(f)
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        kind = _not_regular(info.st_mode)
        if kind is not None:
            real = os.path.realpath(path)
            shown = f" ({real})" if real != os.path.abspath(path) else ""
            raise SerializationError(f"load: {path} is {kind}{shown}, not a checkpoint file")
        raw = os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise
    with raw:
        yield _Source(raw, path, info.st_size)


def _parse_json(text: bytes | str, where, what, hint=None):
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(where, f"{what} is not UTF-8 text"
                        + (f" ({hint})" if hint else " (not a safetensors file)")) from None

    values = text.count(",") + text.count("[") + text.count("{")
    if values > MAX_JSON_VALUES:
        raise _fail(where, f"{what} holds more than {MAX_JSON_VALUES} JSON values (a real "
                           "checkpoint's holds about ten per tensor)")

    def no_constants(name):  # NaN/Infinity are not JSON; save never writes them
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except RecursionError:
        raise _fail(where, f"{what} is JSON nested too deeply to be a checkpoint") from None
    except ValueError as exc:  # a JSONDecodeError, or an integer of more than 4300 digits
        raise _fail(where, f"{what} is not valid JSON ({hint or exc})") from None


def _int_list(value, length=None):
    return (isinstance(value, list) and (length is None or len(value) == length)
            and all(type(v) is int for v in value))


def _tensor_table(header, where, data_size):
    """Check each tensor's entry and their offsets against the data's size:
    ``{name: (TensorInfo, begin, end)}`` in file order."""
    table = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise _fail(where, f"the header entry of tensor {name!r} is not an object with "
                               f"dtype, shape and data_offsets: {json.dumps(entry)[:80]}")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:
            raise _fail(where, f"tensor {name!r} has dtype {code!r}, which chainrule cannot read "
                               f"(it reads {', '.join(_DTYPES)})")
        if not _int_list(shape) or len(shape) > _MAX_NDIM or any(d < 0 for d in shape):
            raise _fail(where, f"tensor {name!r} has shape {json.dumps(shape)[:80]}; a shape is "
                               f"a list of at most {_MAX_NDIM} integers >= 0")
        if not _int_list(offsets, 2) or not 0 <= offsets[0] <= offsets[1]:
            raise _fail(where, f"tensor {name!r} has data_offsets {json.dumps(offsets)[:80]}; "
                               "expected [begin, end] with 0 <= begin <= end")
        dtype = np.dtype(_DTYPES[code])
        if math.prod(max(d, 1) for d in shape) * dtype.itemsize >= 2**63:
            # (NumPy refuses such a shape even with a zero in it)
            raise _fail(where, f"tensor {name!r} has shape {tuple(shape)}, too large for any "
                               "array")
        nbytes = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise _fail(where, f"tensor {name!r} of shape {tuple(shape)} and dtype {code} needs "
                               f"{nbytes} bytes, its offsets {offsets} span "
                               f"{offsets[1] - offsets[0]}")
        table[name] = (TensorInfo(name, tuple(shape), dtype, "tensor"), *offsets)
    # The tensors must tile the data exactly, as safetensors writes them: no overlap, no gap,
    # nothing missing at the end and nothing after it.
    table = dict(sorted(table.items(), key=lambda item: item[1][1:]))
    end = 0
    for name, (_, begin, stop) in table.items():
        if begin != end:
            raise _fail(where, f"tensor {name!r} starts at byte {begin} of the data, expected "
                               f"{end} ({'overlapping' if begin < end else 'a gap'})")
        end = stop
    if data_size is not None and end != data_size:
        if end > data_size:
            raise _fail(where, f"the header declares {end} bytes of tensor data but the file "
                               f"holds {data_size} after the header (truncated, or the header "
                               "lies)")
        raise _fail(where, f"{data_size - end} bytes follow the last tensor (damaged file)")
    return table


def _read_header(source):
    """Length, header and tensor table, all checked before any tensor data is read."""
    where = source.where
    head = source.read(8, "the length field", exact=False)
    foreign = _describe_foreign(head)
    if len(head) < 8:
        raise SerializationError(
            f"load: {where} is not a safetensors file: only {len(head)} bytes"
            + (f"; {foreign}" if foreign else " (truncated or empty)"))
    (header_len,) = struct.unpack("<Q", head)
    available = None if source.size is None else source.size - 8
    if header_len > _MAX_HEADER or (available is not None and header_len > available):
        reason = foreign or (f"the header claims {header_len} bytes but the file has "
                             f"{available if available is not None else 'fewer'} after the "
                             "length field (truncated, or not safetensors)")
        raise SerializationError(f"load: {where} is not a readable safetensors file: {reason}")
    raw = source.read(header_len, "the header")
    if not raw.lstrip(b" ").startswith(b"{"):
        raise SerializationError(f"load: {where} is not a safetensors file: its header is not "
                                 f"valid JSON ({foreign or 'it does not start with {'})")
    header = _parse_json(raw, where, "the header", hint=foreign)
    if not isinstance(header, dict):
        raise _fail(where, "the header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _fail(where, "__metadata__ must map names to strings")
    data_size = None if available is None else available - header_len
    return _tensor_table(header, where, data_size), metadata


_FOREIGN = object()  # no chainrule metadata: a flat file of tensors written by another tool


def _structure(metadata, where):
    """The chainrule structure in the metadata, or _FOREIGN for another safetensors file."""
    if _FORMAT_KEY not in metadata:
        return _FOREIGN
    meta = _parse_json(metadata[_FORMAT_KEY], where, "the chainrule metadata")
    if not isinstance(meta, dict) or not {"version", "structure"} <= set(meta):
        raise _fail(where, "damaged chainrule metadata (expected an object with version and "
                           "structure)")
    version = meta["version"]
    if type(version) is not int or version < 1:
        raise _fail(where, f"damaged chainrule metadata: the format version is "
                           f"{json.dumps(version)[:40]}, not an integer >= 1")
    if version > _FORMAT_VERSION:
        raise SerializationError(f"load: {where} was written by a newer chainrule "
                                 f"(format {version} > {_FORMAT_VERSION}); upgrade chainrule")
    return meta["structure"]


def _read_arrays(source, table):
    arrays = {}
    for name, (info, begin, end) in table.items():  # in file order: one sequential pass
        arr = source.array(info.dtype, info.shape, end - begin, f"tensor {name!r}")
        if info.dtype == np.bool_ and arr.size and arr.view(np.uint8).max() > 1:
            raise _fail(source.where, f"the bool tensor {name!r} holds bytes other than 0 and 1")
        if not arr.dtype.isnative:  # (on a big-endian machine)
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr
    return arrays


def describe(f):
    """What ``load(f)`` would return, with a ``TensorInfo`` (name, shape, dtype, kind) in
    place of each array, from the header alone: no tensor data is read.

        >>> cr.save(nn.Sequential(nn.Linear(64, 256)).state_dict(), "model.safetensors")
        >>> cr.io.describe("model.safetensors")["0.weight"].shape
        (256, 64)
    """
    with _opened(f) as source:
        table, metadata = _read_header(source)
    infos = {name: info for name, (info, _, _) in table.items()}
    structure = _structure(metadata, source.where)
    if structure is _FOREIGN:
        return {name: infos[name] for name in sorted(infos)}
    return _Decoder(infos, source.where).node(structure)


def load(f, map_location=None, weights_only=True):
    """Load what ``cr.save`` wrote (or any safetensors file, as a dict of tensors).

    ``map_location`` and ``weights_only`` are accepted for PyTorch compatibility: loading
    is always weights-only, and pickles are refused without being run. A file that is not
    a readable checkpoint raises ``SerializationError`` naming it (see the module's
    guarantees); reading costs about the file's size in memory.
    """
    with _opened(f) as source:
        table, metadata = _read_header(source)
        infos = {name: info for name, (info, _, _) in table.items()}
        structure = _structure(metadata, source.where)
        if structure is not _FOREIGN:  # the whole structure is checked before the data is read
            _Decoder(infos, source.where).node(structure)
        arrays = _read_arrays(source, table)
    if structure is _FOREIGN:
        # A safetensors file from elsewhere (e.g. safetensors.torch.save_file): flat tensors.
        return {name: _make(arrays[name]) for name in sorted(arrays)}
    return _Decoder(infos, source.where, arrays).node(structure)
