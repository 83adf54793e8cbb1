"""The training run's pictures as a person sees them: readable when shown 1024 px wide, on a projector."""
from pathlib import Path

import matplotlib.image
import numpy as np

import pictures

from nn import cli as train_mnist  # the training command, which writes mistakes.png


def test_the_mistakes_picture_is_readable_on_a_projector(tmp_path, monkeypatch):
    saved, real = [], train_mnist.save_figure

    def save_figure(figure, path):
        saved.append((figure, path, pictures.texts_at_projector_width(figure, 100, figure.get_figwidth() * 100)))
        real(figure, path)

    monkeypatch.setattr(train_mnist, "save_figure", save_figure)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (500, 784), dtype=np.uint8), rng.integers(0, 10, 500)
    guesses = np.where(rng.uniform(size=500) < 0.2, (labels + 1) % 10, labels)
    train_mnist.plot_mistakes(images, labels, guesses, tmp_path / "mistakes.png")
    [(figure, path, texts)] = saved
    width_px = matplotlib.image.imread(path).shape[1]
    scale = width_px / (figure.get_figwidth() * 100)  # texts were measured at 100 dpi: the PNG's own width
    size, words = min((px / scale, words) for px, words in texts)
    print(f"mistakes.png: {width_px} px wide, smallest text {size:.1f} px at 1024 ({words!r})")
    assert size >= pictures.READABLE, (words, size)
    wrong = np.flatnonzero(guesses != labels)
    titles = [words for _, words in texts if words.endswith(")") and " (true " in words]
    assert titles[:3] == [f"{guesses[i]} (true {labels[i]})" for i in wrong[:3]] and len(titles) == 32
