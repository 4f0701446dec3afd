"""The CNN of ``chainrule train --model cnn``: two conv blocks and a small classifier head.

Each block is Conv2d 3x3 (padding 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2); the head is
Flatten -> Linear -> ReLU -> [Dropout] -> Linear. The data stay flat rows (as the MLP's);
an ``Unflatten`` turns each row back into its (1, H, W) image.

    >>> model = build_cnn((8, 8), 10)                       # the bundled 8x8 digits
    >>> model(cr.zeros(2, 64)).shape
    (2, 10)
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
