"""A digit drawn on the pad, made into the kind of image the network was trained on.

MNIST's digits were made this way (LeCun et al.): each written digit was scaled to fit a 20x20
box, keeping its aspect ratio, with anti-aliasing, then placed in a 28x28 image so that its centre
of mass sits at the centre. A digit drawn any size anywhere on the pad must go through the same
steps, or the network sees something unlike anything it learned from.
"""
import numpy as np

SIDE, BOX = 28, 20
INK = 0.05  # fainter than this is paper, not ink, when finding the digit's bounding box


def area_weights(n_in, n_out, start, length):
    """(n_out, n_in) matrix resampling [start, start + length) of n_in pixels onto n_out pixels.

    Each output pixel is the average of the input it covers, partial pixels counted by the part
    covered: this is anti-aliasing, an edge half inside an output pixel makes it half grey.
    """
    edges = start + length * np.arange(n_out + 1) / n_out  # output pixel boundaries, in input pixels
    low, high = edges[:-1, None], edges[1:, None]
    k = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(high, k + 1) - np.maximum(low, k), 0, None)
    return overlap / (length / n_out)


def to_mnist(drawing):
    """A square drawing (ink 0..1) as a 28x28 MNIST-style image, flattened to 784 values in [0, 1]."""
    drawing = np.asarray(drawing, dtype=np.float64)
    rows, columns = np.nonzero(drawing > INK)
    if rows.size == 0:
        return np.zeros(SIDE * SIDE)  # a blank pad is a blank image
    top, left = rows.min(), columns.min()
    height, width = rows.max() + 1 - top, columns.max() + 1 - left
    side = max(height, width)  # a square around the digit keeps its aspect ratio
    top -= (side - height) / 2
    left -= (side - width) / 2
    n = drawing.shape[0]
    box = area_weights(n, BOX, top, side) @ drawing @ area_weights(n, BOX, left, side).T
    mass = box.sum()
    y, x = np.indices(box.shape)
    centre_y, centre_x = (y * box).sum() / mass, (x * box).sum() / mass
    image = np.zeros((SIDE, SIDE))
    # Shift by whole pixels so that the centre of mass lands on the image's centre, (13.5, 13.5)
    # in pixel coordinates, as far as the digit still fits inside the image.
    dy = int(np.clip(np.round(SIDE / 2 - 0.5 - centre_y), 0, SIDE - BOX))
    dx = int(np.clip(np.round(SIDE / 2 - 0.5 - centre_x), 0, SIDE - BOX))
    image[dy:dy + BOX, dx:dx + BOX] = box
    return np.clip(image, 0.0, 1.0).ravel()
