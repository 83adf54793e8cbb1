"""The pieces of the demo's --recipe: random shifts of the images and the cosine decay of the learning rate."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.train import COSTS, cosine_rates, shifted, train
from test_train import (BATCHES_PER_EPOCH, OPTIMIZERS, StopAfter, data,  # noqa: F401  (data: a fixture)
                        same_weights, setup, without_seconds)


def shifted_by_hand(image, down, right, pixels):
    """The image moved by (down - pixels) rows and (right - pixels) columns, a pixel at a time."""
    out = np.zeros((28, 28), image.dtype)
    for y in range(28):
        for x in range(28):
            source_y, source_x = y + down - pixels, x + right - pixels
            if 0 <= source_y < 28 and 0 <= source_x < 28:
                out[y, x] = image[source_y, source_x]
    return out


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_each_image_moves_by_the_offsets_drawn_from_the_generator(pixels, n, seed):
    images = np.random.default_rng(seed).integers(0, 256, (n, 784), dtype=np.uint8)
    moved = shifted(images, pixels, np.random.default_rng(seed))
    down, right = np.random.default_rng(seed).integers(0, 2 * pixels + 1, (2, n))  # the same draws
    assert moved.shape == images.shape and moved.dtype == images.dtype
    for image, result, d, r in zip(images, moved, down, right):
        np.testing.assert_array_equal(result.reshape(28, 28), shifted_by_hand(image.reshape(28, 28), d, r, pixels))


def test_shifts_move_digits_and_keep_their_ink_when_the_border_is_blank():
    images = np.zeros((50, 28, 28), np.uint8)
    images[:, 5:23, 5:23] = np.random.default_rng(0).integers(1, 256, (50, 18, 18))
    moved = shifted(images.reshape(50, 784), 2, np.random.default_rng(1))
    assert np.array_equal(moved.sum(axis=1), images.reshape(50, 784).sum(axis=1))  # nothing falls off
    assert 0 < np.mean([not np.array_equal(a, b) for a, b in zip(moved, images.reshape(50, 784))]) < 1


def test_the_cosine_rates_fall_from_lr_to_zero_and_split_across_epochs():
    rates = cosine_rates(0.1, 0, 10, 10)
    assert rates[0] == 0.1 and all(a > b > 0 for a, b in zip(rates, rates[1:]))
    assert math.isclose(rates[5], 0.05)  # halfway down
    assert cosine_rates(0.1, 0, 4, 10) + cosine_rates(0.1, 4, 6, 10) == rates


def train_recipe(data, checkpoint=None, epochs=2, resume=False, stop_after=None):
    net, opt = setup("momentum")
    if stop_after is not None:
        opt.step = StopAfter(opt.step, stop_after)
    history = train(net, opt, COSTS["cross-entropy"], data, epochs, 16, 3, checkpoint=checkpoint, resume=resume,
                    lr_decay="cosine", shift=1)
    return net, opt, history


def test_the_recipe_trains_resumes_exactly_and_restores_the_learning_rate(data, tmp_path):
    straight, opt, history = train_recipe(data, tmp_path / "a.npz")
    assert opt.lr == 0.05  # the schedule changes the rate during the run only
    assert history[-1]["test_accuracy"] >= 0.8
    with pytest.raises(KeyboardInterrupt):
        train_recipe(data, tmp_path / "b.npz", stop_after=BATCHES_PER_EPOCH + 3)  # Ctrl-C in epoch 2
    resumed, _, resumed_history = train_recipe(data, tmp_path / "b.npz", resume=True)
    assert same_weights(straight, resumed) and without_seconds(resumed_history) == without_seconds(history)
    plain, _ = setup("momentum")
    train(plain, OPTIMIZERS["momentum"](plain.parameters()), COSTS["cross-entropy"], data, 2, 16, 3)
    assert not same_weights(straight, plain)  # the shifts and the schedule did change the run


def test_a_decaying_run_cannot_be_extended_its_schedule_would_change(data, tmp_path):
    train_recipe(data, tmp_path / "c.npz", epochs=1)
    with pytest.raises(ValueError, match="different run: epochs 1 there, 2 here"):
        train_recipe(data, tmp_path / "c.npz", epochs=2, resume=True)


def test_a_checkpoint_without_the_recipe_does_not_resume_with_it(data, tmp_path):
    net, opt = setup("momentum")
    train(net, opt, COSTS["cross-entropy"], data, 1, 16, 3, checkpoint=tmp_path / "c.npz")
    with pytest.raises(ValueError, match="different run: lr_decay"):
        train_recipe(data, tmp_path / "c.npz", resume=True)


@pytest.mark.parametrize("options", [dict(lr_decay="linear"), dict(shift=-1), dict(shift=1.5)])
def test_unknown_recipe_options_are_refused_by_name(data, options):
    net, opt = setup("momentum")
    with pytest.raises(ValueError, match="lr_decay|shift"):
        train(net, opt, COSTS["cross-entropy"], data, 1, 16, 3, **options)
