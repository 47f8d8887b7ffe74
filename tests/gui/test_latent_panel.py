"""The Latent panel drives the real window and the real tiny ONNX generator."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from studio.core.latent import latent_from_seed
from studio.ui.latent_panel import SLIDER_STEPS


def textbook_slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Written out here rather than imported, so the test checks the app's path, not itself."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    omega = np.arccos(np.clip(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)), -1, 1))
    return (np.sin((1 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)


def assert_same_image(shown: np.ndarray, expected: np.ndarray) -> None:
    # float32 vs float64 arithmetic may move a channel across a rounding edge: at most 1 level.
    assert shown.shape == expected.shape
    assert int(np.abs(shown.astype(int) - expected.astype(int)).max()) <= 1


def add_keys(qtbot, win, *cells: int) -> list[int]:
    for cell in cells:
        qtbot.mouseClick(win.panel.grid.buttons[cell], Qt.LeftButton)
    return [win.panel.grid.seeds[c] for c in cells]


def test_thumbnails_show_the_seeds_images(window, reference):
    grid = window.panel.grid
    assert grid.seeds == list(range(12))
    expected = reference.render(np.stack([latent_from_seed(s, 8) for s in grid.seeds]))
    for seed, image in zip(grid.seeds, expected):
        np.testing.assert_array_equal(grid.shown[seed], image)
    assert window.worker.stats["thumbnails"].rendered == 1  # all twelve in one batch call


def test_reroll_and_seed_field_change_the_block(qtbot, window):
    panel = window.panel
    panel.jump_to_seed(500)
    qtbot.waitUntil(panel.grid.ready, timeout=10_000)
    assert panel.grid.seeds == list(range(500, 512))
    before = panel.grid.seeds
    panel.reroll_action.trigger()
    qtbot.waitUntil(lambda: panel.grid.ready() and panel.grid.seeds != before, timeout=10_000)
    assert panel.seed_spin.value() == panel.grid.seeds[0]


def test_clicking_thumbnails_makes_keyframes(qtbot, window, wait_frame, reference):
    seeds = add_keys(qtbot, window, 2, 7)
    panel = window.panel
    assert panel.walk.keyframes == seeds
    assert panel.strip.count() == 2
    assert panel.position_slider.value() == SLIDER_STEPS  # moved to the newest keyframe
    np.testing.assert_array_equal(wait_frame(window), reference.render(latent_from_seed(seeds[1], 8))[0])

    # Click a keyframe: the walk goes to it; right-click: it is removed.
    rect = panel.strip.visualItemRect(panel.strip.item(0))
    qtbot.mouseClick(panel.strip.viewport(), Qt.LeftButton, pos=rect.center())
    assert panel.position_slider.value() == 0
    np.testing.assert_array_equal(wait_frame(window), reference.render(latent_from_seed(seeds[0], 8))[0])
    qtbot.mouseClick(panel.strip.viewport(), Qt.RightButton, pos=rect.center())
    assert panel.walk.keyframes == seeds[1:]
    assert panel.strip.count() == 1


def test_slider_renders_the_interpolated_latent(qtbot, window, wait_frame, reference):
    a, b = add_keys(qtbot, window, 1, 4)
    window.panel.position_slider.setValue(SLIDER_STEPS // 4)
    shown = wait_frame(window)
    expected = reference.render(textbook_slerp(latent_from_seed(a, 8), latent_from_seed(b, 8), 0.25)[None])[0]
    assert_same_image(shown, expected)
    assert window.render_label.text().startswith("Frame ")

    # lerp and truncation reach the canvas too.
    window.panel.mode_combo.setCurrentText("lerp")
    window.panel.truncation_slider.setValue(50)
    shown = wait_frame(window)
    za, zb = latent_from_seed(a, 8) * 0.5, latent_from_seed(b, 8) * 0.5
    assert_same_image(shown, reference.render((0.75 * za + 0.25 * zb)[None])[0])


def test_stale_requests_are_dropped(qtbot, window, wait_frame, reference):
    a, b, c = add_keys(qtbot, window, 0, 5, 9)
    wait_frame(window)
    stats = window.worker.stats["frame"]
    submitted, rendered = stats.submitted, stats.rendered
    shown = []
    window.panel.frameReady.connect(lambda image, s, d: shown.append(image))
    # A fast drag: 200 positions without returning to the event loop.
    values = list(range(0, SLIDER_STEPS, 50)) + [6180]
    for value in values:
        window.panel.position_slider.setValue(value)
    final = wait_frame(window)
    requested = stats.submitted - submitted
    assert requested == len(values)
    assert stats.rendered - rendered < requested
    assert len(shown) <= stats.rendered - rendered
    # The last request is the one on the canvas: position 0.618 is 23.6 % into segment 2 (b -> c).
    t = 0.618 * 2 - 1
    expected = reference.render(textbook_slerp(latent_from_seed(b, 8), latent_from_seed(c, 8), t)[None])[0]
    assert_same_image(final, expected)


def test_play_advances_and_pauses(qtbot, window, wait_frame):
    add_keys(qtbot, window, 3, 6)
    panel = window.panel
    panel.set_position(0.0)
    first = wait_frame(window)
    panel.play_action.trigger()
    assert panel.play_timer.isActive()
    qtbot.waitUntil(lambda: panel.position_slider.value() > SLIDER_STEPS // 20, timeout=5_000)
    qtbot.waitUntil(lambda: not np.array_equal(window.canvas.image(), first), timeout=5_000)
    panel.play_action.trigger()
    assert not panel.play_timer.isActive()
    stopped_at = panel.position_slider.value()
    qtbot.wait(150)
    assert panel.position_slider.value() == stopped_at


def test_loop_play_wraps_around(qtbot, window):
    add_keys(qtbot, window, 3, 6)
    panel = window.panel
    panel.loop_check.setChecked(True)
    panel.set_position(0.99)
    panel.play_action.trigger()
    qtbot.waitUntil(lambda: panel.position_slider.value() < SLIDER_STEPS // 2, timeout=5_000)
    panel.play_action.trigger()


def test_skipped_models_are_listed_disabled_with_their_reason(qtbot, tiny_generator_dir):
    import json

    from studio.engine.runtime import Runtime
    from studio.ui.main_window import MainWindow

    broken = tiny_generator_dir / "broken"
    (tiny_generator_dir / "tiny").rename(broken)
    (tiny_generator_dir / "tiny").mkdir()
    for name in ("model.onnx", "manifest.json"):
        (tiny_generator_dir / "tiny" / name).write_bytes((broken / name).read_bytes())
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest.update(name="broken", sha256="0" * 64)
    (broken / "manifest.json").write_text(json.dumps(manifest))

    win = MainWindow(Runtime("cpu"), [tiny_generator_dir])
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.panel.model_combo.count() == 2, timeout=10_000)
    combo = win.panel.model_combo
    assert combo.itemText(0) == "tiny" and combo.currentText() == "tiny"
    assert combo.itemText(1) == "broken (skipped)"
    assert not combo.model().item(1).isEnabled()
    assert "sha256" in combo.itemData(1, Qt.ToolTipRole)
    assert "broken" in combo.toolTip()
    win.close()


def test_base_models_and_0x_versions_are_listed_after_the_models_to_draw_with(qtbot, tiny_generator_dir):
    import json

    from studio.engine.runtime import Runtime
    from studio.ui.main_window import MainWindow

    tiny = tiny_generator_dir / "tiny"
    manifest = {**json.loads((tiny / "manifest.json").read_text()), "version": "1.0.0"}
    (tiny / "manifest.json").write_text(json.dumps(manifest))
    for name, marks in (("a-base", {"base_model": True}), ("a-wip", {"version": "0.2.0"})):  # both first by name
        (tiny_generator_dir / name).mkdir()
        (tiny_generator_dir / name / "model.onnx").write_bytes((tiny / "model.onnx").read_bytes())
        (tiny_generator_dir / name / "manifest.json").write_text(json.dumps({**manifest, "name": name, **marks}))

    win = MainWindow(Runtime("cpu"), [tiny_generator_dir])
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.panel.model_combo.count() == 3, timeout=10_000)
    combo = win.panel.model_combo
    assert [combo.itemText(i) for i in range(3)] == ["tiny", "a-base", "a-wip"] and combo.currentText() == "tiny"
    win.close()


def test_a_render_failure_is_one_message_not_a_crash(qtbot, tmp_path, message_boxes):
    """A generator whose manifest promises latent 16 while the graph takes 8: the
    registry cannot tell (the axis is dynamic), the render call fails for real."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from model_factory import generator_manifest, tiny_generator_weight, write_model
    from onnx import TensorProto, helper, numpy_helper

    from studio.engine.runtime import Runtime
    from studio.ui.main_window import MainWindow

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["latent", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["t"]),
         helper.make_node("Reshape", ["t", "shape"], ["image"])],
        "mismatched",
        [helper.make_tensor_value_info("latent", TensorProto.FLOAT, ["batch", "z"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        initializer=[numpy_helper.from_array(tiny_generator_weight(), "W"),
                     numpy_helper.from_array(np.array([-1, 3, 8, 8], dtype=np.int64), "shape")])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    manifest = generator_manifest("mismatched", data, latent=16)
    manifest["inputs"][0]["shape"] = ["batch", "z"]
    write_model(tmp_path / "models", "mismatched", data, manifest)

    win = MainWindow(Runtime("cpu"), [tmp_path / "models"])
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert title == "Render" and "\n" not in text and text
    qtbot.mouseClick(win.panel.grid.buttons[0], Qt.LeftButton)  # disabled: nothing rendered, nothing happens
    assert win.panel.walk.keyframes == []
    win.close()


def test_truncation_rerenders_thumbnails_in_one_batch(qtbot, window, reference):
    grid = window.panel.grid
    batches = window.worker.stats["thumbnails"].rendered
    window.panel.truncation_slider.setValue(40)
    expected = reference.render(np.stack([latent_from_seed(s, 8) * np.float32(0.4) for s in grid.seeds]))
    qtbot.waitUntil(lambda: all(np.array_equal(grid.shown.get(s), e) for s, e in zip(grid.seeds, expected)),
                    timeout=10_000)
    assert window.worker.stats["thumbnails"].rendered == batches + 1


def test_rescan_finds_a_new_model_and_keeps_the_current_one(qtbot, window, tiny_generator_dir):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from model_factory import write_model

    write_model(tiny_generator_dir, "second")
    window.scan_models()
    combo = window.panel.model_combo
    qtbot.waitUntil(lambda: combo.count() == 2, timeout=10_000)
    assert combo.currentText() == "tiny"
    combo.setCurrentIndex(combo.findText("second"))
    assert window.panel.entry.name == "second"
    qtbot.waitUntil(window.panel.grid.ready, timeout=10_000)
    assert window.windowTitle().startswith("second")


def test_a_model_added_to_a_watched_folder_appears_without_a_restart(qtbot, window, tiny_generator_dir):
    from model_factory import tiny_generator_onnx, write_model

    write_model(tiny_generator_dir, "fresh", tiny_generator_onnx(seed=5))
    qtbot.waitUntil(lambda: "fresh" in [e.name for e in window.panel.entries], timeout=10_000)
