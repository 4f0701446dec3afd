"""Batches of sequences of different lengths: padding and packing, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` stores the steps of a batch time-major, longest sequence first:
``data`` (sum of lengths, *), and ``batch_sizes[t]``, how many sequences are still running
at step t. The recurrent layers take one and return one.

    >>> seqs = [cr.randn(5, 3), cr.randn(2, 3), cr.randn(4, 3)]
    >>> packed = pack_sequence(seqs, enforce_sorted=False)
    >>> out, h_n = nn.GRU(3, 8)(packed)
    >>> padded, lengths = pad_packed_sequence(out, batch_first=True)
    >>> padded.shape, lengths
    (chainrule.Size([3, 5, 8]), tensor([5, 2, 4]))

Packing and unpacking are one index node each (a gather and its mirror, a scatter into
zeros), so gradients flow through them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import backend
from ...autograd import tracing
from ...ops import shape as _shape
from ...ops.index import GetItem, IndexAdd
from ...tensor import Tensor, _make

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's namedtuple."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    @property
    def is_cuda(self):
        return self.data.device != "cpu"


def _lengths_array(name, lengths):
    if isinstance(lengths, Tensor):  # sizes and masks of the packing come from its values
        tracing.reads_values(name, "computes the packing from the lengths' values in Python")
    arr = np.asarray(lengths._array if isinstance(lengths, Tensor) else lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name}: lengths must be a 1-D list or tensor of integers, got "
                         f"shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.int64)


def packed_coordinates(batch_sizes):
    """(time index, batch index) of every row of a packed ``data``, in its order."""
    bs = np.asarray(batch_sizes, dtype=np.int64)
    t_idx = np.repeat(np.arange(bs.size), bs)
    b_idx = np.concatenate([np.arange(n) for n in bs]) if bs.size else np.zeros(0, np.int64)
    return t_idx, b_idx


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of ``lengths``.

    With ``enforce_sorted=False`` the batch may come in any order: it is sorted by length
    and ``unsorted_indices`` puts results back in the caller's order.

        >>> x = cr.randn(3, 3, 2)                                  # (T, B, 2)
        >>> packed = pack_padded_sequence(x, [3, 1, 2], enforce_sorted=False)
        >>> packed.batch_sizes, packed.sorted_indices
        (tensor([3, 2, 1]), tensor([0, 2, 1]))
    """
    lens = _lengths_array("pack_padded_sequence", lengths)
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be at least 2-D (T, B, *), got "
                         f"shape {tuple(input.shape)}")
    if lens.size != input.shape[batch_dim]:
        raise ValueError(f"pack_padded_sequence: expected {input.shape[batch_dim]} lengths "
                         f"(the batch of input {tuple(input.shape)}), got {lens.size}")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("pack_padded_sequence: every length must be greater than 0, got "
                           f"lengths {lens.tolist()}")
    T = input.shape[1 - batch_dim]
    if lens.size and lens.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length {int(lens.max())} exceeds the "
                           f"{T} steps of input {tuple(input.shape)}")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                f"pack_padded_sequence: lengths {lens.tolist()} must be sorted in decreasing "
                "order when enforce_sorted is True; pass enforce_sorted=False to sort them")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        sorted_indices = _make(order)
        unsorted_indices = _make(inverse)
    batch_sizes = (lens[None, :] > np.arange(int(lens[0]) if lens.size else 0)[:, None]).sum(1)
    t_idx, b_idx = packed_coordinates(batch_sizes)
    if order is not None:
        b_idx = order[b_idx]
    key = (b_idx, t_idx) if batch_first else (t_idx, b_idx)
    data = GetItem.apply(input, key)
    return PackedSequence(data, _make(batch_sizes.astype(np.int64)), sorted_indices,
                          unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: (padded (T, B, *), lengths), in the original order.

        >>> packed = pack_padded_sequence(cr.randn(3, 3, 2), [3, 1, 2], enforce_sorted=False)
        >>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
        >>> padded.shape, lengths
        (chainrule.Size([3, 3, 2]), tensor([3, 1, 2]))
    """
    data, batch_sizes = sequence.data, _lengths_array("pad_packed_sequence", sequence.batch_sizes)
    T = int(batch_sizes.size)
    B = int(batch_sizes[0]) if T else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                f"pad_packed_sequence: expected total_length to be at least the length of the "
                f"longest sequence ({T}), got total_length={total_length}")
        T_out = int(total_length)
    else:
        T_out = T
    t_idx, b_idx = packed_coordinates(batch_sizes)
    padded = IndexAdd.apply(data, (t_idx, b_idx), (T_out, B) + tuple(data.shape[1:]))
    if padding_value != 0:
        xp = backend.get_array_module(data._array)
        fill = xp.full((T_out, B) + (1,) * (data.ndim - 1), padding_value, data.dtype)
        fill[t_idx, b_idx] = 0
        padded = padded + fill
    lengths = (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)
    if sequence.unsorted_indices is not None:
        inv = sequence.unsorted_indices._array
        padded = GetItem.apply(padded, (slice(None), inv))
        lengths = lengths[inv]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _make(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences (L_i, *) into (max L, B, *) (or (B, max L, *)), padding the ends.

        >>> pad_sequence([cr.ones(3), cr.ones(1)], batch_first=True)
        tensor([[1., 1., 1.],
                [1., 0., 0.]])
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    T = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if tuple(s.shape[1:]) != tuple(sequences[0].shape[1:]):
            raise RuntimeError(f"pad_sequence: sequences must agree after dim 0, got "
                               f"{tuple(s.shape)} and {tuple(sequences[0].shape)}")
        extra = T - s.shape[0]
        if extra:
            widths = (0, extra) if padding_side == "right" else (extra, 0)
            s = _shape.Pad.apply(s, (widths,) + ((0, 0),) * (s.ndim - 1), padding_value)
        padded.append(s)
    return _shape.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(...))``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences (L_i, *) in a padded batch."""
    lens = _lengths_array("unpad_sequence", lengths)
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[b, :int(n)] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """The list of sequences (L_i, *) in a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
