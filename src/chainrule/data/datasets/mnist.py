"""MNIST and Fashion-MNIST from the standard IDX files in a folder (gzip or not).

Nothing is downloaded: put the four files of either dataset in one folder,

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

(unzipped copies work too; so does torchvision's ``<folder>/MNIST/raw`` layout), then

    >>> X, y = mnist("~/data/mnist", train=True)     # needs the files # doctest: +SKIP
    >>> X.shape, y.shape                             # doctest: +SKIP
    (chainrule.Size([60000, 784]), chainrule.Size([60000]))
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from ...tensor import _make

# IDX header: two zero bytes, a type code, the number of dimensions; then big-endian int32 sizes.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or plain, told apart by its first bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad header {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated (header of {ndim} dims incomplete)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} bytes of data, "
                         f"but its header says {shape} x {dtype.itemsize} = {expected}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: str, name: str, dataset: str) -> str:
    folders = [root, os.path.join(root, "raw"), os.path.join(root, "MNIST", "raw"),
               os.path.join(root, "FashionMNIST", "raw")]
    for folder in folders:
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    wanted = ", ".join(n + ".gz" for pair in FILES.values() for n in pair)
    raise FileNotFoundError(
        f"{dataset}: {name}(.gz) not found in {root}. Put the four IDX files ({wanted}; "
        f"gzipped or not) in that folder")


def mnist(root, train=True, flatten=True, dataset="mnist"):
    """``(X, y)`` of MNIST's training (60000) or test (10000) split from ``root``.

    ``X`` is float32 in [0, 1], shape (n, 784) or (n, 28, 28) with ``flatten=False``;
    ``y`` int64 class labels.
    """
    root = os.path.expanduser(str(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{dataset}: folder {root} does not exist; put the IDX files "
                                f"({', '.join(FILES[True] + FILES[False])}, .gz or not) there")
    image_name, label_name = FILES[bool(train)]
    images = read_idx(_find(root, image_name, dataset))
    labels = read_idx(_find(root, label_name, dataset))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{dataset}: images {images.shape} and labels {labels.shape} in {root} "
                         f"do not match (expected (n, rows, cols) and (n,))")
    X = images.astype(np.float32) / np.float32(255.0)
    if flatten:
        X = X.reshape(len(X), -1)
    return _make(np.ascontiguousarray(X)), _make(labels.astype(np.int64))


def fashion_mnist(root, train=True, flatten=True):
    """Fashion-MNIST: the same files and format as MNIST, ten kinds of clothing."""
    return mnist(root, train=train, flatten=flatten, dataset="fashion_mnist")


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
