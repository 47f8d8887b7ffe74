"""What Image > Upscale enlarges and how it lands (studio/ui/upscale_target.py),
without Qt: only content is enlarged, yet each layer comes out as the engine's
whole-layer result; refusals are one line."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.commands import AddLayer, SetLayerProps
from studio.core.document import Document
from studio.core.recipe import FORMAT
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.engine.upscale import UpscaleError, upscale
from studio.ui.upscale_target import capture_upscale, landing_command, planned_size, run_upscale, upscaled_recipe
from upscale_factory import write_upscale_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("upscalers")
    write_upscale_model(root, "x4")
    return Registry([root]).get("x4")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("cpu", threads=1)


def sticker_doc(width: int = 300, height: int = 200) -> Document:
    """A transparent canvas with a small half-transparent sticker at (200, 40)-(230, 60)."""
    rng = np.random.default_rng(3)
    doc = Document(width, height)
    pixels = np.zeros((height, width, 4), np.uint8)
    pixels[40:60, 200:230] = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    pixels[40:60, 200:230, 3] = 200
    doc.apply(AddLayer(doc.new_layer("sticker", pixels)))
    return doc


def test_a_sticker_costs_its_own_size_and_comes_out_as_the_whole_layer_would(model, runtime):
    doc = sticker_doc()
    target = capture_upscale(doc, "document", 2, model)
    (piece,) = target.pieces
    margin = model.manifest["margin"]
    # The sticker grown by the model's reach, and that again for context.
    assert piece.core == (200 - margin, 40 - margin, 230 + margin, 60 + margin)
    assert piece.window == (200 - 2 * margin, 40 - 2 * margin, 230 + 2 * margin, 60 + 2 * margin)
    result = run_upscale(target, model, runtime)
    whole = upscale(doc.layers[0].pixels, 2, model, runtime)
    out = result.layers[doc.layers[0].id]
    x0, y0, x1, y1 = (2 * v for v in piece.core)
    np.testing.assert_array_equal(out[y0:y1, x0:x1], whole[y0:y1, x0:x1])
    out[y0:y1, x0:x1] = 0
    assert not out.any()  # beyond the sticker's reach the layer stays transparent


def test_a_full_layer_at_x4_costs_the_canvas_and_is_the_centre_of_the_whole_enlargement(model, runtime):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    image[..., 3] = 255
    doc = Document.from_image(image)
    target = capture_upscale(doc, "layer", 4, model)
    (piece,) = target.pieces
    assert piece.core == (24, 18, 40, 30)  # only the quarter of each side that lands on the canvas
    result = run_upscale(target, model, runtime)
    whole = upscale(image, 4, model, runtime)
    # About the centre: the x4 picture's middle 64 x 48 px, from (96, 72).
    np.testing.assert_array_equal(result.layers[doc.layers[0].id], whole[72:120, 96:160])
    command, layer_id = landing_command(doc, target, result)
    doc.apply(command)
    assert layer_id == doc.layers[0].id and doc.undo_text == "Upscale"
    assert doc.layers[0].recipe["scale"] == 4 and doc.layers[0].recipe["model"]["name"] == "x4"


def test_nothing_to_enlarge_is_one_line():
    doc = sticker_doc()
    doc.active_id = None
    with pytest.raises(UpscaleError, match="no active layer"):
        planned_size(doc, "layer", 2)
    doc.active_id = doc.layers[0].id
    doc.apply(SetLayerProps(doc.active_id, locked=True))
    with pytest.raises(UpscaleError, match="locked"):
        capture_upscale(doc, "layer", 2, None)
    empty = Document(10, 10)
    empty.apply(AddLayer(empty.new_layer("blank")))
    with pytest.raises(UpscaleError, match="empty") as err:
        capture_upscale(empty, "layer", 4, None)
    assert "\n" not in str(err.value)


def test_a_result_for_a_changed_document_is_refused():
    doc = sticker_doc()
    target = capture_upscale(doc, "document", 2, None)
    result = run_upscale(target, None, None)
    doc.apply(SetLayerProps(doc.layers[0].id, name="renamed"))
    with pytest.raises(UpscaleError, match="changed while"):
        landing_command(doc, target, result)
    assert (doc.width, doc.height) == (300, 200)


def test_the_recipe_keeps_what_made_the_pixels_before():
    upscaler = {"format": FORMAT, "action": "upscale", "method": "lanczos", "scale": 4}
    generated = {"format": FORMAT, "model": {"name": "tiny"}, "seeds": [3]}
    assert upscaled_recipe(upscaler, None) is upscaler
    assert upscaled_recipe(upscaler, generated) == {**upscaler, "source": {"model": {"name": "tiny"}, "seeds": [3]}}
