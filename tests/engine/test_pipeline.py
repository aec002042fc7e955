import threading

import cv2
import numpy as np
import pytest
import torch

from engine.errors import JobCancelled
from engine.inpainter import NetworkInpainter
from engine.model_spec import FEATHERED_ALPHA, HARD_ALPHA, NetworkSpec
from engine.pipeline import feather_weights, inpaint, padding_rule
from engine.registry import build_network, builtin_model_names, get_spec, load_model, trainable_specs
from tests.helpers import synthetic_rgb

BAND = 8


def _hole(height, width):
    hole = np.zeros((height, width), bool)
    hole[100:180, 200:330] = True
    hole[height - 60:height - 10, width - 90:width - 20] = True  # near the corner
    return hole


@pytest.fixture(scope="module")
def random_networks():
    """Every built-in network with random weights (seeded), wrapped like a loaded model; random weights take the
    paper's input (zeros in the hole), whatever pre-fill the shipped weights were trained on."""
    from dataclasses import replace

    torch.manual_seed(0)
    cpu = torch.device("cpu")
    return {spec.name: NetworkInpainter(replace(spec, input_fill=None), spec.build(), cpu)
            for spec in trainable_specs()}


def _model(name, random_networks):
    return random_networks[name] if name in random_networks else load_model(name)


MODELS = builtin_model_names()
"""Every registered model: a new model file is tested by these tests by being registered."""


@pytest.mark.parametrize("name", MODELS)
def test_odd_size_photo_through_every_model(name, random_networks):
    image = synthetic_rgb(667, 1001)
    hole = _hole(667, 1001)
    image_before, hole_before = image.copy(), hole.copy()
    result = inpaint(image, hole, _model(name, random_networks), band_px=BAND)

    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    np.testing.assert_array_equal(image, image_before)  # inputs never modified
    np.testing.assert_array_equal(hole, hole_before)
    assert not np.shares_memory(result.image, image)
    # every pixel farther than the band from the hole is bit-identical to the input
    distance = cv2.distanceTransform((~hole).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = distance > BAND
    np.testing.assert_array_equal(result.image[far], image[far])
    # the hole itself was filled
    assert (result.image[hole] != image[hole]).any()
    alpha = result.alpha_map()
    assert alpha.shape == (667, 1001, 3) and alpha.dtype == np.uint8
    assert (alpha[far] == 0).all()
    spec = get_spec(name)
    assert result.alpha_learned == (isinstance(spec, NetworkSpec) and spec.alpha_learned)
    assert result.raw_map().shape == image.shape
    y0, x0, y1, x1 = result.changed_box()
    changed = np.argwhere((result.image != image).any(axis=2))
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1


def test_classical_fill_is_composited_with_a_feathered_mask():
    image = synthetic_rgb(300, 400)
    hole = np.zeros((300, 400), bool)
    hole[100:150, 100:200] = True
    result = inpaint(image, hole, load_model("opencv-telea"), band_px=BAND)
    window = result.windows[0]
    y0, x0, y1, x1 = window.box
    expected = feather_weights(hole[y0:y1, x0:x1], BAND)
    np.testing.assert_allclose(window.alpha[..., 0] / 255.0, expected, atol=0.5 / 255 + 1e-6)
    assert (window.alpha[hole[y0:y1, x0:x1]] == 255).all()


@pytest.mark.parametrize("name", MODELS)
def test_default_seam_band_is_the_models_own(name, random_networks):
    image = synthetic_rgb(200, 240)
    hole = np.zeros((200, 240), bool)
    hole[70:120, 90:160] = True
    model = _model(name, random_networks)
    band = get_spec(name).seam_band_px
    result = inpaint(image, hole, model)
    distance = cv2.distanceTransform((~hole).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    far = distance > band
    np.testing.assert_array_equal(result.image[far], image[far])
    assert (result.alpha_map()[far] == 0).all()
    assert (result.model_title, result.alpha_meaning) == (get_spec(name).title, get_spec(name).alpha_meaning)
    if not result.alpha_learned:  # the feathered (or hard) mask of the model's own band
        window = result.windows[0]
        y0, x0, y1, x1 = window.box
        expected = feather_weights(hole[y0:y1, x0:x1], band)
        np.testing.assert_allclose(window.alpha[..., 0] / 255.0, expected, atol=0.5 / 255 + 1e-6)


class _Blend(torch.nn.Module):
    """A network with a learned alpha, as small as one can be: raw and alpha from one convolution."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 6, 3, padding=1)

    def forward(self, image, hole):
        out = torch.sigmoid(self.conv(torch.cat([image, hole], 1)))
        return out[:, :3], out[:, 3:]


BLEND = NetworkSpec(name="blend", title="Blend (a test network)", arch="blend", license="test", training_data="none",
                    alpha_learned=True, alpha_meaning="blend map: 1 = the network's output", input_fill="telea",
                    build=_Blend, forward=lambda network, image, hole, fill: network(image, hole))


def test_a_result_says_which_model_made_it_and_what_its_alpha_means():
    """The editor words its views from the result alone, without looking the model up again."""
    image = synthetic_rgb(120, 160)
    hole = np.zeros((120, 160), bool)
    hole[40:80, 50:110] = True
    torch.manual_seed(0)
    learned = inpaint(image, hole, NetworkInpainter(BLEND, BLEND.build(), torch.device("cpu")))
    assert (learned.model_title, learned.alpha_learned) == ("Blend (a test network)", True)
    assert (learned.alpha_meaning, learned.prefill_title) == ("blend map: 1 = the network's output", "OpenCV Telea")
    telea = load_model("opencv-telea")
    feathered = inpaint(image, hole, telea)
    assert (feathered.model_title, feathered.alpha_meaning) == ("OpenCV Telea (classical)", FEATHERED_ALPHA)
    assert feathered.prefill_title is None
    assert inpaint(image, hole, telea, band_px=0).alpha_meaning == HARD_ALPHA  # the band used, not the model's own
    nothing = inpaint(image, np.zeros_like(hole), telea)
    assert (nothing.model_title, nothing.alpha_meaning) == ("OpenCV Telea (classical)", FEATHERED_ALPHA)


def test_dmfn_composites_hard_unless_a_band_is_asked_for(random_networks):
    """DMFN's output outside the hole is never trained: by default not one pixel outside the hole changes."""
    assert get_spec("dmfn").seam_band_px == 0
    image = synthetic_rgb(200, 240)
    hole = np.zeros((200, 240), bool)
    hole[70:120, 90:160] = True
    model = random_networks["dmfn"]
    hard = inpaint(image, hole, model)
    np.testing.assert_array_equal(hard.image[~hole], image[~hole])
    np.testing.assert_array_equal(hard.alpha_map()[..., 0] == 255, hole)
    feathered = inpaint(image, hole, model, band_px=BAND)
    assert (hard.band_px, feathered.band_px) == (0, BAND)
    assert (feathered.image[~hole] != image[~hole]).any()
    np.testing.assert_array_equal(feathered.image[hole], hard.image[hole])


def test_dfnet_alpha_is_the_learned_map_inside_the_hole(random_networks):
    image = synthetic_rgb(256, 256)
    hole = np.zeros((256, 256), bool)
    hole[80:140, 90:170] = True
    model = random_networks["dfnet"]
    result = inpaint(image, hole, model, band_px=BAND)
    batch = image[None].astype(np.float32) / 255.0
    prediction = model.predict(batch, hole[None])
    alpha = result.alpha_map().astype(np.float32) / 255.0
    np.testing.assert_allclose(alpha[hole], prediction.alpha[0][hole], atol=0.5 / 255 + 1e-6)
    expected = np.clip(prediction.alpha[0] * prediction.raw[0] * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(result.image[hole].astype(int) - expected[hole].astype(int)).max() <= 1


def test_large_window_is_downscaled_and_upscaled():
    image = synthetic_rgb(1500, 2000)
    hole = np.zeros((1500, 2000), bool)
    hole[300:1000, 400:1500] = True  # window 1400 x 2000 > native 512
    result = inpaint(image, hole, load_model("opencv-telea"), band_px=BAND)
    assert len(result.windows) == 1
    window = result.windows[0]
    assert window.raw.shape == (window.box[2] - window.box[0], window.box[3] - window.box[1], 3)
    assert (result.image[hole] != image[hole]).any()


def test_empty_mask_returns_a_copy():
    image = synthetic_rgb(64, 80)
    result = inpaint(image, np.zeros((64, 80), bool), load_model("opencv-telea"))
    np.testing.assert_array_equal(result.image, image)
    assert not np.shares_memory(result.image, image)
    assert result.windows == () and result.changed_box() is None


def test_rejects_wrong_types():
    with pytest.raises(ValueError, match="uint8"):
        inpaint(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), bool), load_model("opencv-telea"))
    with pytest.raises(ValueError, match="bool"):
        inpaint(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), bool), load_model("opencv-telea"))


def test_cancel_raises_and_progress_is_reported():
    image, hole = synthetic_rgb(200, 200), _hole(200, 300)[:, :200]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        inpaint(image, hole, load_model("opencv-telea"), cancel=cancel)
    fractions = []
    inpaint(image, hole, load_model("opencv-telea"), progress=lambda f, m: fractions.append(f))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 700), (300, 2)])
@pytest.mark.parametrize("name", MODELS)
def test_tiny_and_thin_photos_through_every_model(name, shape, random_networks):
    image = synthetic_rgb(*shape)
    hole = np.zeros(shape, bool)
    hole[shape[0] // 2, shape[1] // 2] = True
    result = inpaint(image, hole, _model(name, random_networks))
    assert result.image.shape == image.shape
    y0, x0, y1, x1 = result.windows[0].box
    assert result.windows[0].alpha.shape == (y1 - y0, x1 - x0, 3)


@pytest.mark.parametrize("name", ["opencv-telea", "dfnet-telea"])
def test_a_huge_hole_is_composited_in_chunks_with_the_same_result(name, random_networks):
    """Chunks of 7 rows (less than the seam band) give the result of one chunk: the feather weights of each chunk
    see every hole pixel within the band, and the learned alpha and the pre-fill are cut at the same rows."""
    from dataclasses import replace

    import engine.pipeline as pipeline

    if name == "dfnet-telea":
        network = random_networks["dfnet"]
        model = NetworkInpainter(replace(network.spec, input_fill="telea"), network.network, network.device)
    else:
        model = load_model(name)
    image = synthetic_rgb(700, 900)
    hole = np.zeros((700, 900), bool)
    hole[50:650, 60:840] = True
    hole[300:320, 845:860] = True  # a second part a few pixels away: the band of one reaches into the other
    cv2.circle(hole.view(np.uint8), (450, 690), 6, 1, -1)
    original_rows = pipeline.COMPOSITE_ROWS
    try:
        pipeline.COMPOSITE_ROWS = 10_000
        whole = inpaint(image, hole, model, band_px=BAND)
        pipeline.COMPOSITE_ROWS = 7
        chunked = inpaint(image, hole, model, band_px=BAND)
    finally:
        pipeline.COMPOSITE_ROWS = original_rows
    np.testing.assert_array_equal(chunked.image, whole.image)
    np.testing.assert_array_equal(chunked.alpha_map(), whole.alpha_map())
    assert chunked.changed_box() == whole.changed_box()


def test_a_removal_that_does_not_fit_in_free_memory_is_refused_before_any_work(monkeypatch):
    import engine.pipeline as pipeline
    from engine.errors import JobTooLarge
    from engine.regions import plan_windows

    image = synthetic_rgb(400, 600)
    hole = np.zeros((400, 600), bool)
    hole[20:380, 30:570] = True
    model = load_model("opencv-telea")
    windows = plan_windows(hole, model.spec.native_size, padding_rule(model.spec)[0])
    needed = pipeline.estimate_peak_bytes((400, 600), windows, model.spec)
    # the estimate covers the output copy, the per-window maps and the blending chunk
    assert needed >= 3 * 400 * 600 + pipeline.WINDOW_BYTES_PER_PIXEL * 400 * 600
    calls = []
    monkeypatch.setattr(model, "predict", lambda *args: calls.append(args))
    monkeypatch.setattr(pipeline, "available_memory_bytes", lambda: needed)  # 90 % of it is usable: too little
    with pytest.raises(JobTooLarge, match=r"needs about .* GB of memory and only .* GB is free"):
        inpaint(image, hole, model)
    assert calls == []  # refused before the model ran
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "available_memory_bytes", lambda: 2 * needed)
    assert inpaint(image, hole, model).windows


def test_a_network_batch_counts_in_the_memory_estimate(random_networks):
    import engine.pipeline as pipeline

    windows = [(0, 0, 64, 64)] * 3
    dfnet, telea = random_networks["dfnet"].spec, get_spec("opencv-telea")
    extra = pipeline.estimate_peak_bytes((64, 64), windows, dfnet) - pipeline.estimate_peak_bytes((64, 64), windows,
                                                                                                  telea)
    side = 512  # DFNet's native size, a multiple of its 256-pixel size rule
    assert extra == dfnet.working_bytes_per_pixel * 3 * side * side


@pytest.mark.parametrize("fill", ["telea", "patchmatch"])
def test_a_pre_filled_hole_is_what_the_learned_alpha_blends_over(fill, random_networks):
    """DFNet weights trained on a pre-fill: the pipeline composites alpha * raw + (1 - alpha) * fill inside the hole,
    the fill being the one the network saw (not zeros)."""
    from dataclasses import replace

    from engine.prefill import prefill

    image = synthetic_rgb(256, 256)
    hole = np.zeros((256, 256), bool)
    hole[80:140, 90:170] = True
    plain = random_networks["dfnet"]
    model = NetworkInpainter(replace(plain.spec, input_fill=fill), build_network("dfnet"), plain.device)
    model.network.load_state_dict(plain.network.state_dict())
    batch = image[None].astype(np.float32) / 255.0
    prediction = model.predict(batch, hole[None])
    np.testing.assert_array_equal(prediction.base, prefill(batch, hole[None], fill))
    assert (prediction.raw != plain.predict(batch, hole[None]).raw).any()  # the network saw the fill
    result = inpaint(image, hole, model, band_px=BAND)
    a, raw, base = prediction.alpha[0], prediction.raw[0], prediction.base[0]
    expected = np.clip((a * raw + (1 - a) * base) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(result.image[hole].astype(int) - expected[hole].astype(int)).max() <= 1


def test_dmfn_weights_trained_on_a_pre_fill_see_it_in_their_range(random_networks):
    """DMFN weights whose card names a pre-fill get that fill in the hole, scaled to DMFN's [-1, 1] like the photo."""
    from dataclasses import replace

    import torch

    from engine.prefill import prefill

    image = synthetic_rgb(128, 128)
    hole = np.zeros((128, 128), bool)
    hole[30:70, 40:100] = True
    plain = random_networks["dmfn"]
    seen = []
    forward = plain.spec.forward
    spec = replace(plain.spec, input_fill="telea",
                   forward=lambda net, img, h, fill: seen.append(fill) or forward(net, img, h, fill))
    model = NetworkInpainter(spec, plain.network, plain.device)
    batch = image[None].astype(np.float32) / 255.0
    prediction = model.predict(batch, hole[None])
    expected = torch.from_numpy(prefill(batch, hole[None], "telea")).permute(0, 3, 1, 2) * 2 - 1
    torch.testing.assert_close(seen[0], expected)
    assert (prediction.raw != plain.predict(batch, hole[None]).raw).any()  # the network saw the fill


@pytest.mark.parametrize("name", ["opencv-telea", "dfnet"])
def test_in_place_gives_the_same_result_in_the_input_array(name, random_networks):
    image = synthetic_rgb(520, 6000)
    hole = np.zeros((520, 6000), bool)
    for x in range(100, 6000, 600):  # ten windows (two batches): each crop is read after others were written
        hole[200:230, x:x + 30] = True
    model = _model(name, random_networks)
    copied = inpaint(image, hole, model, band_px=BAND)
    work = image.copy()
    in_place = inpaint(work, hole, model, band_px=BAND, in_place=True)
    assert len(copied.windows) > 8
    assert in_place.image is work
    np.testing.assert_array_equal(work, copied.image)
    np.testing.assert_array_equal(in_place.alpha_map(), copied.alpha_map())


def test_progress_messages_are_plain_sentences():
    messages = []
    image = synthetic_rgb(64, 64)
    hole = np.zeros((64, 64), bool)
    hole[20:30, 20:30] = True
    inpaint(image, hole, load_model("opencv-telea"), progress=lambda fraction, text: messages.append(text))
    assert messages == ["Finding the areas to fill", "Filling 1 area with OpenCV Telea (classical)", "Done"]


def test_a_window_that_must_be_padded_gets_the_pre_fill_of_its_real_pixels(random_networks):
    """A photo smaller than DFNet's 256-pixel size rule is reflect-padded; its PatchMatch pre-fill is PatchMatch's
    own fill of the real photo (as PatchMatch alone gives), not one that copied the padding's mirror images."""
    from dataclasses import replace

    image = synthetic_rgb(300, 200)
    hole = np.zeros((300, 200), bool)
    hole[100:220, 120:180] = True  # its mirror image lies in the padding beyond column 200
    seen = []

    def fill_through(network, image_t, hole_t, fill_t):
        seen.append(tuple(image_t.shape[2:]))
        return fill_t, torch.zeros_like(fill_t)  # learned alpha 0: the result is the pre-fill

    plain = random_networks["dfnet"]
    model = NetworkInpainter(replace(plain.spec, input_fill="patchmatch", forward=fill_through), plain.network,
                             plain.device)
    result = inpaint(image, hole, model)
    assert seen == [(512, 256)]
    alone = inpaint(image, hole, load_model("patchmatch"))
    np.testing.assert_array_equal(result.image[hole], alone.image[hole])


def test_windows_share_a_batch_only_when_they_share_a_shape(random_networks):
    """A small window is never padded to a larger one's size in a batch."""
    from dataclasses import replace

    shapes = []
    plain = random_networks["dfnet"]
    forward = plain.spec.forward

    def record(network, image_t, hole_t, fill_t):
        shapes.append((image_t.shape[0], *image_t.shape[2:]))
        return forward(network, image_t, hole_t, fill_t)

    model = NetworkInpainter(replace(plain.spec, forward=record), plain.network, plain.device)
    image = synthetic_rgb(520, 4000)
    hole = np.zeros((520, 4000), bool)
    hole[100:140, 3700:3740] = True  # a 512 x 512 window
    hole[200:300, 1000:2300] = True  # a 520 x 2,600 window, seen at 102 x 512, padded to 256 x 512
    inpaint(image, hole, model)
    assert sorted(shapes) == [(1, 256, 512), (1, 512, 512)]
