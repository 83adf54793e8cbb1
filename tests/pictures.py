"""What a person sees in a matplotlib picture: its text sizes at a projector's width, its colour scales.

Sizes are measured as the picture will be shown: a text of s points, saved at d dots per inch into a
PNG w pixels wide, is s·d/72 pixels tall there, and s·d/72·1024/w when the PNG is shown 1024 px wide.
"""
import numpy as np
from matplotlib.image import AxesImage
from matplotlib.text import Text

SHOWN_WIDTH = 1024  # a projector's width, in pixels
READABLE = 14  # px: the smallest text a picture may have when shown that wide

DIVERGING = {"RdBu", "RdBu_r", "bwr", "coolwarm", "seismic", "PuOr", "BrBG", "PiYG", "PRGn", "RdYlBu", "RdGy"}


def texts_at_projector_width(figure, dpi, width_px):
    """[(px when the picture is shown 1024 px wide, the text)] for every text in the figure."""
    figure.draw_without_rendering()  # lays it out as savefig does: colour bar ticks, offsets, ...
    hidden = {id(text) for axes in figure.axes if not axes.axison  # axis("off"): its ticks are not drawn
              for axis in (axes.xaxis, axes.yaxis) for text in axis.findobj(Text)}
    return [(text.get_fontsize() * dpi / 72 * SHOWN_WIDTH / width_px, text.get_text())
            for text in figure.findobj(Text) if text.get_visible() and text.get_text().strip() and id(text) not in hidden]


def smallest_text(figure, dpi, width_px):
    return min(texts_at_projector_width(figure, dpi, width_px))


def signed_images_are_centred_with_a_colour_bar(figure):
    """Every image that shows signed numbers uses a diverging map centred on zero, and has a colour bar."""
    problems = []
    for image in figure.findobj(AxesImage):
        data = np.asarray(image.get_array())
        if not (data < 0).any():
            continue  # a picture of pixels, 0..255
        low, high = image.norm.vmin, image.norm.vmax
        if image.get_cmap().name not in DIVERGING:
            problems.append(f"{image.get_cmap().name} is not a diverging colour map")
        if low != -high or high < np.max(np.abs(data)):
            problems.append(f"the scale {low}..{high} is not centred on zero or clips the data")
        if image.colorbar is None:
            problems.append("no colour bar")
    return problems


def gif_frames(path):
    """Every frame of a GIF, as RGB pictures, and its frames' duration (ms)."""
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.is_animated
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB"))
        return frames, gif.info.get("duration")


def text_heights(frame, top):
    """The heights in px of the runs of rows with ink below `top`: one per line of the caption."""
    ink = (np.asarray(frame.convert("L"))[top:] < 128).any(axis=1)
    runs, start = [], None
    for y, inked in enumerate(ink):
        if inked and start is None:
            start = y
        if not inked and start is not None:
            runs.append(y - start)
            start = None
    return runs
