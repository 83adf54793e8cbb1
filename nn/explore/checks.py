"""Checking a request's JSON before anything computes with it: a bad one gets a 400 naming the problem."""
import base64
import binascii
import math

import numpy as np

from .preprocess import to_mnist

PIXELS = 784
LARGEST_DRAWING = 280  # the pad's side in pixels, at most


class BadRequest(ValueError):
    """The request is not one the explorer answers: the message says why, the server answers 400."""


def field(body, name, default=...):
    if name not in body:
        if default is ...:
            raise BadRequest(f"missing field {name!r}")
        return default
    return body[name]


def integer(body, name, low, high, default=...):
    value = field(body, name, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be a whole number from {low} to {high}, got {value!r:.40}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value


def digit(body, name="target", default=...):
    return integer(body, name, 0, 9, default)


def choice(body, name, options, default=...):
    value = field(body, name, default)
    if value not in options:
        raise BadRequest(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r:.40}")
    return value


def flag(body, name):
    value = field(body, name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, got {value!r:.40}")
    return value


def numbers(value, name, count):
    """A list of `count` numbers, each in [0, 1], as a float64 array."""
    if not isinstance(value, list) or len(value) != count:
        got = f"a list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise BadRequest(f"{name} must be a list of {count} numbers in [0, 1], got {got}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise BadRequest(f"{name} must hold only numbers")
    array = np.array(value, dtype=np.float64)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        bad = next(v for v in value if not (math.isfinite(v) and 0 <= v <= 1))
        raise BadRequest(f"{name} must lie in [0, 1], found {bad!r}")
    return array


def image(body):
    """784 pixels in [0, 1], given as "pixels", or a square "drawing" to preprocess: {"size": n, "ink":
    n*n bytes in base64, row by row, 0 paper to 255 ink}. Bytes, because a stroke sends one per frame:
    parsing and checking 12,544 JSON numbers took longer than everything the network computes."""
    if "pixels" in body:
        return numbers(body["pixels"], "pixels", PIXELS)
    drawing = field(body, "drawing", None)
    if drawing is None:
        raise BadRequest("give the image as pixels (784 numbers in [0, 1]) or as a drawing")
    if not isinstance(drawing, dict):
        raise BadRequest("drawing must be an object {\"size\": n, \"ink\": \"n*n bytes in base64\"}")
    size = integer(drawing, "size", 28, LARGEST_DRAWING)
    ink = field(drawing, "ink")
    try:
        raw = base64.b64decode(ink, validate=True) if isinstance(ink, str) else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None:
        raise BadRequest("drawing ink must be base64 text")
    if len(raw) != size * size:
        raise BadRequest(f"drawing ink must hold {size}x{size} = {size * size} bytes, got {len(raw)}")
    ink = np.frombuffer(raw, dtype=np.uint8).reshape(size, size) / 255.0
    return to_mnist(ink)


def examples(body, sets):
    """The examples of POST /api/average: a list of {"set", "index"} or of an image ("pixels" or a
    "drawing") with its "target", which a drawing must have: nobody else knows what it shows."""
    value = field(body, "examples", [])
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise BadRequest("examples must be a list of objects")
    if len(value) > 100:
        raise BadRequest(f"at most 100 examples, got {len(value)}")
    checked = []
    for e in value:
        if "set" in e:
            checked.append({"set": choice(e, "set", sets), "index": integer(e, "index", 0, 10**9)})
        else:
            target = digit(e, "target")  # first: without one there are no nudges to show
            checked.append({"pixels": image(e), "target": target})
    return checked
