"""The CNN of ``chainrule train --model cnn``: two conv blocks and a small classifier head.

Each block is Conv2d 3x3 (padding 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2); the head is
Flatten -> Linear -> ReLU -> [Dropout] -> Linear. The data stay flat rows (as the MLP's);
an ``Unflatten`` turns each row back into its (1, H, W) image.

    >>> model = build_cnn((8, 8), 10)                       # the bundled 8x8 digits
    >>> model(cr.zeros(2, 64)).shape
    chainrule.Size([2, 10])
"""

from __future__ import annotations

from .. import nn

# Square grey images of the image datasets, by the number of pixels in a row.
IMAGE_SIDES = {64: 8, 784: 28}


def image_shape(num_features: int) -> tuple:
    """(H, W) of flat grey images with ``num_features`` pixels (8x8 digits, 28x28 MNIST)."""
    side = IMAGE_SIDES.get(int(num_features))
    if side is None:
        raise ValueError(f"--model cnn needs square grey images (8x8 digits or 28x28 MNIST), "
                         f"got {num_features} features per sample")
    return side, side


def build_cnn(image_shape, classes, channels=(32, 64), hidden=128, dropout=0.0):
    """Conv blocks of ``channels`` on (1, H, W) images, then a ``hidden``-unit head."""
    h, w = (int(s) for s in image_shape)
    layers = [nn.Unflatten(1, (1, h, w))]
    width = 1
    for c in channels:
        layers += [nn.Conv2d(width, int(c), 3, padding=1), nn.BatchNorm2d(int(c)), nn.ReLU(),
                   nn.MaxPool2d(2)]
        width, h, w = int(c), h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(width * h * w, int(hidden)), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(int(hidden), int(classes)))
    return nn.Sequential(*layers)


def cnn_state_shapes(image_shape, classes, channels=(32, 64), hidden=128, dropout=0.0) -> dict:
    """The ``state_dict()`` shapes of ``build_cnn(...)``, computed without building it, so that
    sizes read from a file are checked against a weights file before anything is allocated.

        >>> sorted(cnn_state_shapes((8, 8), 10))[:3]
        ['1.bias', '1.weight', '10.bias']
    """
    def size(value, what, limit=1 << 16):
        if type(value) is not int or not 1 <= value <= limit:
            raise ValueError(f"the model's {what} must be an integer in [1, {limit}], "
                             f"got {value!r}")
        return value

    if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 2:
        raise ValueError(f"the model's image_shape must be [height, width], got {image_shape!r}")
    h, w = (size(s, "image size") for s in image_shape)
    if type(dropout) not in (int, float) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    shapes, index, width = {}, 1, 1          # layer 0 is the Unflatten
    for c in channels:
        shapes.update({f"{index}.weight": (c, width, 3, 3), f"{index}.bias": (c,)})
        shapes.update({f"{index + 1}.{name}": (c,)
                       for name in ("weight", "bias", "running_mean", "running_var")})
        shapes[f"{index + 1}.num_batches_tracked"] = ()
        index += 4                           # Conv2d, BatchNorm2d, ReLU, MaxPool2d
        width, h, w = c, h // 2, w // 2
    hidden = size(hidden, "hidden size")
    index += 1                               # Flatten
    shapes.update({f"{index}.weight": (hidden, width * h * w), f"{index}.bias": (hidden,)})
    index += 2 + (dropout > 0)               # Linear, ReLU, [Dropout]
    classes = size(classes, "classes")
    shapes.update({f"{index}.weight": (classes, hidden), f"{index}.bias": (classes,)})
    return shapes
