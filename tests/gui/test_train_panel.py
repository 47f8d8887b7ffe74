"""The Train panel: the trainer's JSON lines, and real (tiny) training runs
started, watched, paused, stopped and exported through the panel."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from studio.core.paths import user_models_dir
from studio.engine.registry import Registry
from studio.engine.runtime import Runtime
from studio.ui.main_window import MainWindow
from model_factory import generator_manifest, tiny_generator_onnx, write_model
from studio.train.presets import CPU_WIDTH, PRESETS
from studio.ui.train_panel import count_image_files
from studio.ui.train_run import IDLE
from studio.ui.train_setup import new_run_folder, preset_hint, suggest_model_name, training_arguments
from studio.ui.trainer_process import MAX_LINE_BYTES, EventLineParser, error_line

RUN_TIMEOUT_MS = 60_000  # torch starting up at nice 10 on a busy 2-core machine is the slow part


# -- the JSON-line parser ------------------------------------------------------------------------


def test_partial_lines_wait_for_their_newline():
    parser = EventLineParser()
    record = {"event": "progress", "step": 10, "loss_g": 0.7, "note": "ünïcode"}
    line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    cut = line.index("ï".encode()) + 1  # inside a two-byte UTF-8 character
    assert parser.feed(line[:5]) == []
    assert parser.feed(line[5:cut]) == []
    events = parser.feed(line[cut:] + b'{"event": "samples", "step": 10, "path": "/r/s.png"}\n{"event": "do')
    assert [e["event"] for e in events] == ["progress", "samples"]
    assert events[0]["note"] == "ünïcode" and events[1]["path"] == "/r/s.png"
    assert parser.feed(b'ne", "reason": "steps", "step": 10}\n') == [{"event": "done", "reason": "steps", "step": 10}]
    assert parser.feed(b'{"event": "paused", "step": 3}') == []
    assert parser.finish() == [{"event": "paused", "step": 3}]  # the stream ended without a newline
    assert parser.finish() == []


def test_garbage_lines_become_notes_and_parsing_goes_on():
    parser = EventLineParser()
    data = (b"Traceback? no, just some print\n\n   \n[1, 2, 3]\n42\n{\"step\": 1}\n{broken json\n"
            b"\xff\xfe binary\r\n{\"event\": \"checkpoint\", \"step\": 5, \"path\": \"c\"}\r\n")
    events = parser.feed(data)
    texts = [e["line"] for e in events if e["event"] == "text"]
    assert texts == ["Traceback? no, just some print", "[1, 2, 3]", "42", '{"step": 1}', "{broken json",
                     "\ufffd\ufffd binary"]
    assert events[-1] == {"event": "checkpoint", "step": 5, "path": "c"}


def test_an_endless_line_is_dropped_with_a_note():
    parser = EventLineParser()
    events = parser.feed(b"x" * (MAX_LINE_BYTES + 10))
    assert len(events) == 1 and events[0]["event"] == "text" and "dropped" in events[0]["line"]
    assert parser.feed(b"more of the same line\n{\"event\": \"resumed\", \"step\": 7}\n") == \
        [{"event": "resumed", "step": 7}]


def test_old_trainer_lines_are_translated():
    parser = EventLineParser()
    old = [
        {"event": "data", "images": 8, "resolution": 16, "seconds": 0.02},
        {"event": "start", "step": 0, "params_G": 550307, "params_D": 549793, "batch": 8, "threads": 1,
         "resumed": False},
        {"step": 10, "images_seen": 80, "loss_g": 0.69, "loss_d": 1.37, "r1": None, "images_per_s": 115.8,
         "eta_s": 1.4, "elapsed_s": 0.7, "sample_grid": "run/samples/step_000010.png",
         "checkpoint": "run/checkpoint.safetensors"},
        {"step": 20, "images_seen": 160, "loss_g": 0.71, "loss_d": 1.37, "r1": 0.0007, "images_per_s": 104.3,
         "eta_s": 0.8, "elapsed_s": 1.6, "sample_grid": None, "checkpoint": None},
        {"event": "done", "reason": "steps", "step": 30, "images_seen": 240, "wall_time_s": 2.5,
         "sample_grid": "run/samples/step_000030.png", "checkpoint": "run/checkpoint.safetensors"},
    ]
    events = parser.feed("".join(json.dumps(r) + "\n" for r in old).encode())
    assert [e["event"] for e in events] == ["dataset", "start", "progress", "samples", "checkpoint", "progress",
                                            "done", "samples"]
    assert events[0]["images"] == 8 and events[0]["skipped"] == [] and "16 px" in events[0]["summary"]
    assert events[2]["step"] == 10 and events[2]["loss_d"] == 1.37 and "sample_grid" not in events[2]
    assert events[3] == {"event": "samples", "step": 10, "path": "run/samples/step_000010.png"}
    assert events[4] == {"event": "checkpoint", "step": 10, "path": "run/checkpoint.safetensors"}
    assert events[7] == {"event": "samples", "step": 30, "path": "run/samples/step_000030.png"}


def test_error_line_is_the_last_error_prefixed_line():
    assert error_line(["warning: x", "error: no images in /data", "bye"]) == "no images in /data"
    assert error_line(["Traceback (most recent call last):", "  File ...", "RuntimeError: boom"]) is None


# -- the panel's pieces --------------------------------------------------------------------------


def test_arguments_follow_the_protocol(tmp_path):
    args = training_arguments(tmp_path / "data", tmp_path / "run", 128, minutes=30, base="emoji64")
    assert args == ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--resolution", "128",
                    "--minutes", "30", "--base", "emoji64", "--threads", "0", "--nice", "10", "--progress", "json"]
    args = training_arguments(tmp_path, tmp_path, 16, minutes=30, steps=50, checkpoint_every=5, batch=8)
    assert "--minutes" not in args and args[args.index("--steps") + 1] == "50" and "--task" not in args
    assert args[args.index("--checkpoint-every") + 1] == "5" and args[args.index("--batch") + 1] == "8"
    args = training_arguments(tmp_path, tmp_path, 128, minutes=5, task="inpaint")
    assert args[args.index("--task") + 1] == "inpaint"


def test_counting_and_naming(tmp_path, user_dir):
    (tmp_path / "cats" / "sub").mkdir(parents=True)
    (tmp_path / "cats" / ".hidden").mkdir()
    for name in ("a.png", "b.JPG", "sub/c.webp", ".d.png", ".hidden/e.png", "notes.txt", "sub/f.tiff"):
        (tmp_path / "cats" / name).write_bytes(b"")
    assert count_image_files(tmp_path / "cats") == 4
    assert suggest_model_name(tmp_path / "cats", set()) == "cats"
    assert suggest_model_name(tmp_path / "cats", {"cats", "cats-2"}) == "cats-3"
    assert suggest_model_name(Path("/x/My Photos (2024)"), set()) == "My-Photos-2024"
    moment = datetime(2025, 1, 2, 3, 4, 5)
    first = new_run_folder("cats", moment)
    assert first == user_dir / "runs" / "cats-20250102-030405"
    first.mkdir(parents=True)
    assert new_run_folder("cats", moment) == user_dir / "runs" / "cats-20250102-030405-2"


# -- real runs through the window ----------------------------------------------------------------


def make_images(folder: Path, count: int = 8, size: int = 16) -> Path:
    """`count` small RGB PNGs (coloured squares on white) plus a text file the count must skip."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = np.full((size, size, 3), 255, np.uint8)
        lo, hi = sorted(rng.integers(2, size - 2, 2))
        pixels[lo:hi + 2, lo:hi + 2] = rng.integers(0, 255, 3)
        Image.fromarray(pixels).save(folder / f"img_{i}.png")
    (folder / "readme.txt").write_text("not an image")
    return folder


@pytest.fixture
def train_window(qtbot, tiny_generator_dir, user_dir):
    """The main window on the tiny generator and the user models folder (where exports land)."""
    win = MainWindow(Runtime("cpu"), [tiny_generator_dir, user_models_dir()])
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitUntil(win.panel.grid.ready, timeout=10_000)
    yield win
    if win.train_panel.is_busy():  # a failed test must not leave a trainer behind
        win.train_panel.shutdown()
    win.close()


def start_tiny_run(qtbot, panel, data: Path, name: str, resolution: int = 16) -> None:
    qtbot.waitUntil(lambda: panel.image_files is not None, timeout=10_000)
    panel.name_edit.clear()
    qtbot.keyClicks(panel.name_edit, name)
    assert panel.start(steps=100_000, resolution=resolution, checkpoint_every=4, batch=8)
    assert panel.is_busy() and not panel.settings_box.isEnabled() and panel.stop_button.isEnabled()


def test_train_pause_stop_export_and_pick(qtbot, train_window, tmp_path, user_dir, message_boxes, monkeypatch):
    win, panel = train_window, train_window.train_panel
    assert [panel.base_combo.itemText(i) for i in range(panel.base_combo.count())] == \
        ["none (train from scratch)", "tiny (8 px)"]
    assert not panel.base_combo.model().item(1).isEnabled()  # no training checkpoint to fine-tune from
    panel.set_data_folder(make_images(tmp_path / "squares"))
    assert panel.name_edit.text() == "squares"
    assert not panel.open_folder_button.isEnabled()
    start_tiny_run(qtbot, panel, tmp_path / "squares", "trained16")
    assert panel.image_files == 8 and panel.data_info.text().startswith("8 image files")
    assert panel.run.rundir.parent == user_dir / "runs"
    assert panel.run_folder_label.toolTip() == str(panel.run.rundir) and panel.open_folder_button.isEnabled()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())))
    qtbot.mouseClick(panel.open_folder_button, Qt.LeftButton)
    assert opened == [str(panel.run.rundir)]

    # Progress lines feed the loss plot; each checkpoint's sample grid is shown.
    qtbot.waitUntil(lambda: panel.loss_plot.point_count() >= 4 and panel.samples_shown >= 1,
                    timeout=RUN_TIMEOUT_MS)
    assert panel.run.dataset is not None and panel.run.dataset["images"] == 8
    with Image.open(panel.samples_path) as grid:
        assert (panel.sample_view.pixmap.width(), panel.sample_view.pixmap.height()) == grid.size
    assert panel.progress.text().startswith("Step ")

    panel.pause_button.click()
    assert (panel.run.rundir / "PAUSE").exists() and panel.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Paused at step"), timeout=RUN_TIMEOUT_MS)
    paused_at = panel.run.last_progress["step"]
    qtbot.wait(500)
    assert panel.run.last_progress["step"] == paused_at  # a paused trainer prints nothing
    panel.pause_button.click()
    assert not (panel.run.rundir / "PAUSE").exists()
    qtbot.waitUntil(lambda: panel.run.last_progress["step"] > paused_at, timeout=RUN_TIMEOUT_MS)

    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert (panel.run.rundir / "STOP").exists() and not panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: win.panel.entry is not None and win.panel.entry.name == "trained16",
                    timeout=RUN_TIMEOUT_MS)
    assert panel.run.state == IDLE and panel.run.done["reason"] == "stop-file"
    assert (user_dir / "models" / "trained16" / "model.onnx").is_file()
    assert win.panel.entry.manifest["resolution"] == 16
    assert "trained16" in [e.name for e in win.panel.entries]
    qtbot.waitUntil(win.panel.grid.ready, timeout=10_000)  # the new model renders in the Latent panel
    assert panel.name_edit.text() == "trained16"  # typed by the user: kept for the next run
    # The new model has a training checkpoint, so it can be the base of the next run, at its own size.
    bases = [panel.base_combo.itemText(i) for i in range(panel.base_combo.count())]
    index = bases.index("trained16 (16 px)")
    assert panel.base_combo.model().item(index).isEnabled()
    panel.base_combo.setCurrentIndex(index)
    assert panel.base_model() == "trained16" and panel.resolution() == 16
    assert not panel.resolution_combo.isEnabled()
    panel.base_combo.setCurrentIndex(0)
    assert panel.resolution_combo.isEnabled()
    assert not message_boxes


def test_empty_folder_shows_the_trainers_error(qtbot, train_window, tmp_path, message_boxes):
    panel = train_window.train_panel
    (tmp_path / "empty").mkdir()
    panel.set_data_folder(tmp_path / "empty")
    qtbot.waitUntil(lambda: panel.image_files == 0, timeout=10_000)
    assert panel.data_info.objectName() == "notice"
    panel.name_edit.setText("nothing")
    assert panel.start()
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=RUN_TIMEOUT_MS)
    title, text = message_boxes.pop()
    assert title == "Training" and "\n" not in text and "image" in text.lower(), text
    assert panel.run.state == IDLE and panel.start_button.isEnabled()
    # The canvas side is untouched.
    qtbot.mouseClick(train_window.panel.grid.buttons[0], Qt.LeftButton)
    qtbot.waitUntil(lambda: train_window.canvas.image() is not None, timeout=10_000)


def test_killed_trainer_shows_its_last_lines(qtbot, train_window, tmp_path, message_boxes):
    panel = train_window.train_panel
    panel.set_data_folder(make_images(tmp_path / "dots"))
    start_tiny_run(qtbot, panel, tmp_path / "dots", "killed")
    qtbot.waitUntil(lambda: panel.run.last_progress is not None, timeout=RUN_TIMEOUT_MS)
    os.kill(panel.trainer.pid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(message_boxes), timeout=10_000)
    title, text = message_boxes.pop()
    assert title == "Training" and text.startswith("The trainer was killed.") and str(panel.run.rundir) in text
    assert panel.run.state == IDLE and not (user_models_dir() / "killed").exists()


def test_closing_while_training_asks_then_stops_with_a_checkpoint(qtbot, train_window, tmp_path, monkeypatch):
    panel = train_window.train_panel
    answers = []

    def question(parent, title, text, buttons, default):
        answers.append((title, default))
        return answers_to_give.pop(0)

    answers_to_give = [QMessageBox.Cancel, QMessageBox.Yes]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    panel.set_data_folder(make_images(tmp_path / "blobs"))
    start_tiny_run(qtbot, panel, tmp_path / "blobs", "closing")
    qtbot.waitUntil(lambda: panel.run.last_progress is not None, timeout=RUN_TIMEOUT_MS)
    trainer = panel.trainer
    assert not train_window.close()  # Cancel: the window stays, training goes on
    assert trainer.is_running() and panel.is_busy()
    assert train_window.close()
    assert answers == [("Training", QMessageBox.Yes)] * 2  # Stop is the default answer
    assert not trainer.is_running()
    assert (panel.run.rundir / "checkpoint.safetensors").is_file()


def test_an_inpainting_run_trains_exports_and_becomes_a_base(qtbot, train_window, tmp_path, user_dir, message_boxes):
    panel = train_window.train_panel
    panel.set_task("inpaint")
    # Inpainting has its own sizes and lists inpaint models as bases (none installed here).
    assert [panel.resolution_combo.itemData(i) for i in range(panel.resolution_combo.count())] == [64, 128, 256, 512]
    assert panel.resolution() == 128 and panel.base_combo.count() == 1
    assert panel.metric_plot.title.startswith("PSNR")
    panel.set_data_folder(make_images(tmp_path / "tiles", count=8, size=32))
    start_tiny_run(qtbot, panel, tmp_path / "tiles", "fill32", resolution=32)
    assert "--task inpaint" in panel.log_view.toPlainText()
    # Progress lines feed the loss plot; a checkpoint shows its grid (masked, filled, original).
    qtbot.waitUntil(lambda: panel.samples_shown >= 1 and panel.loss_plot.point_count() >= 2, timeout=RUN_TIMEOUT_MS)
    train_window.inpaint_panel.set_method("telea")
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.run.state == IDLE and "fill32" in panel.model_names, timeout=RUN_TIMEOUT_MS)
    manifest = json.loads((user_dir / "models" / "fill32" / "manifest.json").read_text())
    assert manifest["kind"] == "inpaint" and manifest["resolution"] == 32
    # The new network is picked in the Inpaint panel, ready to fill.
    qtbot.waitUntil(lambda: train_window.inpaint_panel.method() == ("auto", train_window.inpaint_panel.models[0])
                    if train_window.inpaint_panel.models else False, timeout=10_000)
    assert train_window.inpaint_panel.models[0].name == "fill32"
    bases = [panel.base_combo.itemText(i) for i in range(panel.base_combo.count())]
    assert bases == ["none (train from scratch)", "fill32 (32 px)"]
    assert panel.base_combo.model().item(1).isEnabled()
    panel.set_task("generate")  # the inpaint model is not a generator's base
    assert [panel.base_combo.itemText(i) for i in range(panel.base_combo.count())] == \
        ["none (train from scratch)", "tiny (8 px)"] and panel.resolution() == 64
    assert not message_boxes


def test_preset_hint_says_what_to_expect_and_when():
    now = datetime(2026, 12, 2, 20, 15)
    assert preset_hint(PRESETS["evening"], 120, now) == f"Expect {PRESETS['evening'].expectation}. Ready about 22:15."
    assert preset_hint(None, 45, now) == "Ready about 21:00."


def test_presets_set_duration_and_resolution_until_the_user_edits_them(train_window):
    panel = train_window.train_panel
    assert panel.preset() is PRESETS["quick"] and panel.minutes_spin.value() == PRESETS["quick"].minutes
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("evening"))
    assert panel.minutes_spin.value() == PRESETS["evening"].minutes
    assert panel.resolution() == PRESETS["evening"].resolution
    assert panel.preset_hint.text().startswith(f"Expect {PRESETS['evening'].expectation}")
    panel.minutes_spin.setValue(45)  # the user's own duration: a custom run, the resolution stays
    assert panel.preset() is None and panel.preset_hint.text().startswith("Ready about")
    assert panel.resolution() == PRESETS["evening"].resolution


def test_a_preset_preselects_the_base_model_at_its_size(qtbot, tmp_path, user_dir):
    # A real tiny ONNX generator at 128 px exported as a base (the panel only reads its manifest
    # and sees the checkpoint file; the trainer loads it).
    onnx_bytes = tiny_generator_onnx(res=128)
    manifest = generator_manifest("base128", onnx_bytes, res=128)
    manifest.update(base_model=True, training={"data": "none", "width": CPU_WIDTH[128]},
                    files={"onnx": "model.onnx", "checkpoint": "checkpoint.safetensors"})
    folder = write_model(tmp_path / "models", "base128", onnx_bytes, manifest)
    (folder / "checkpoint.safetensors").write_bytes(b"weights")
    win = MainWindow(Runtime("cpu"), [tmp_path / "models", user_models_dir()])
    qtbot.addWidget(win)
    panel = win.train_panel
    qtbot.waitUntil(lambda: panel.base_combo.count() == 2, timeout=10_000)
    assert panel.preset().resolution == 64 and panel.base_model() is None  # no base at 64 px: from scratch
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("evening"))
    assert panel.base_model() == "base128" and panel.resolution() == 128
    assert not panel.resolution_combo.isEnabled()
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("quick"))
    assert panel.base_model() is None and panel.resolution() == 64
    args = training_arguments(tmp_path, tmp_path, 64, minutes=20, base=panel.base_model())
    assert "--from-scratch" in args  # "none" is passed on, so the trainer does not pick a base itself
    win.close()


def test_a_generator_trained_with_an_encoder_takes_pictures_in(qtbot, train_window, tmp_path, user_dir,
                                                              message_boxes):
    panel = train_window.train_panel
    assert panel.encoder_check.isVisibleTo(panel)
    panel.set_task("inpaint")
    assert not panel.encoder_check.isVisibleTo(panel)  # only a generator has one
    panel.set_task("generate")
    panel.encoder_check.setChecked(True)
    panel.set_data_folder(make_images(tmp_path / "faces", count=8, size=32))
    start_tiny_run(qtbot, panel, tmp_path / "faces", "faces32", resolution=32)
    assert "--encoder" in panel.log_view.toPlainText()
    qtbot.waitUntil(lambda: panel.samples_shown >= 1, timeout=RUN_TIMEOUT_MS)
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.run.state == IDLE and "faces32" in panel.model_names, timeout=RUN_TIMEOUT_MS)
    assert (user_dir / "models" / "faces32" / "encoder.onnx").is_file()
    # The Latent panel shows the new model, which can take pictures in.
    latent = train_window.panel
    qtbot.waitUntil(lambda: latent.entry is not None and latent.entry.name == "faces32", timeout=10_000)
    assert latent.can_encode and latent.picture_button.isEnabled()
    assert not message_boxes


def test_without_pytorch_the_panel_says_why_and_cannot_start(qtbot, tmp_path, tiny_generator_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as on an Intel Mac: the import system finds no torch
    win = MainWindow(Runtime("cpu"), [tiny_generator_dir])
    qtbot.addWidget(win)
    panel = win.train_panel
    panel.set_data_folder(make_images(tmp_path / "squares"))
    qtbot.waitUntil(lambda: panel.image_files is not None, timeout=10_000)
    assert panel.status_label.text().startswith("Training needs PyTorch, which is not installed")
    assert not panel.start_button.isEnabled() and not panel.start_action.isEnabled()
    win.close()


def test_past_runs_are_listed_exported_and_resumed(qtbot, train_window, tmp_path, user_dir, message_boxes):
    from studio.train.cli import main as train_main

    panel = train_window.train_panel
    data = make_images(tmp_path / "squares")
    past = user_dir / "runs" / "squares-20261201-101010"
    assert train_main(["--data", str(data), "--out", str(past), "--resolution", "16", "--steps", "2",
                       "--width", "0.25", "--batch", "4", "--threads", "1", "--progress", "json"]) == 0
    (user_dir / "runs" / "not-a-run").mkdir()
    panel.past_runs_section.set_open(True)
    qtbot.waitUntil(lambda: panel.past_runs.list.count() == 1, timeout=10_000)
    assert panel.past_runs.list.item(0).text().startswith("squares  ·  16 px  ·  step 2\nGenerator (new images)")
    assert not panel.past_runs.export_button.isEnabled()  # nothing selected yet

    panel.past_runs.list.setCurrentRow(0)
    qtbot.mouseClick(panel.past_runs.export_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: (user_dir / "models" / "squares" / "model.onnx").is_file() and panel.run.state == IDLE,
                    timeout=RUN_TIMEOUT_MS)

    panel.past_runs.list.setCurrentRow(0)
    qtbot.mouseClick(panel.past_runs.resume_button, Qt.LeftButton)
    assert panel.is_busy() and not panel.past_runs.resume_button.isEnabled()
    qtbot.waitUntil(lambda: (panel.run.last_progress or {}).get("step", 0) > 2, timeout=RUN_TIMEOUT_MS)
    qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: (user_dir / "models" / "squares-2" / "model.onnx").is_file() and panel.run.state == IDLE,
                    timeout=RUN_TIMEOUT_MS)  # the name taken by the first export: the next free one
    assert panel.run.rundir == past and panel.run.done["reason"] == "stop-file"
    qtbot.waitUntil(lambda: "step 2\n" not in panel.past_runs.list.item(0).text(), timeout=10_000)  # listed anew
    assert not message_boxes


def test_the_upscaler_and_inpainting_tasks_start_from_the_shipped_model_the_app_uses(qtbot, user_dir):
    shipped = Path(__file__).resolve().parents[2] / "models"
    win = MainWindow(Runtime("cpu"), [shipped, user_models_dir()])
    qtbot.addWidget(win)
    panel = win.train_panel
    qtbot.waitUntil(lambda: panel.base_combo.count() >= 2, timeout=10_000)  # the generators, base128 among them
    panel.set_task("upscale")
    assert panel.base_model() == "upscale-x4" and panel.resolution() == 128  # not the x2 listed before it
    assert panel.preset_hint.text().startswith("Ready about")  # the presets' expectations are a generator's
    panel.set_task("inpaint")
    assert panel.base_model() == "inpaint-broad"
    panel.base_combo.setCurrentIndex(0)  # the user's "none" stays theirs when the models are listed again
    panel.set_models(Registry([shipped]).scan())
    assert panel.base_model() is None
    panel.set_task("generate")
    assert panel.base_model() is None and panel.resolution() == PRESETS["quick"].resolution  # no base at 64 px
    win.close()
