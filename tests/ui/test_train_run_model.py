"""The Train panel's run model (studio/ui/train_run.py) without Qt: its states
and the requests each allows, and the trainer's events (as
studio/train/PROTOCOL.md describes them) turned into what the panel shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from studio.train.protocol import (CHECKPOINT, DATASET, DONE, METRICS, PAUSED as PAUSED_EVENT, PROGRESS, RESUMED,
                                   SAMPLES, SCAN, START, TEXT, WARNING, event)
from studio.ui.train_run import (EXPORTING, IDLE, PAUSED, RUNNING, STARTING, STOPPING, TRANSITIONS, Progress,
                                 TrainRun)

RUNDIR = Path("/runs/cats-20260101-120000")


def begun(task: str = "generate", steps: int | None = None) -> TrainRun:
    run = TrainRun()
    run.begin(RUNDIR, "cats", task, ["--data", "/d", "--out", str(RUNDIR)], steps)
    return run


def feed_all(run: TrainRun, events: list[dict]) -> list:
    return [run.feed(item) for item in events]


def test_the_model_imports_neither_qt_nor_torch():
    code = ("import sys, studio.ui.train_run, studio.ui.train_setup; "
            "assert not {'PySide6', 'torch'} & set(m.split('.')[0] for m in sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


# -- states --------------------------------------------------------------------------------------


def test_a_run_goes_from_idle_through_each_state_and_back():
    run = TrainRun()
    assert run.state == IDLE and not run.is_busy() and run.progress == Progress(0.0, "Not started")
    update = run.begin(RUNDIR, "cats", "generate", ["--data", "/d"])
    assert run.state == STARTING and run.is_busy() and update.state == STARTING and update.reset
    assert update.status == f"Starting the trainer (run folder {RUNDIR})…"
    assert update.log == ["studio.train --data /d"] and update.progress == Progress(0.0, "Starting…")
    assert run.feed(event(START, step=0, device="cpu")).state == RUNNING
    assert run.set_paused(True).status == "Pausing…" and run.state == PAUSED
    assert run.set_paused(False).status == "Resuming…" and run.state == RUNNING
    assert run.note_stop_sent() and not run.note_stop_sent()  # STOP is written once
    assert run.stop().state == STOPPING
    assert run.still_stopping().status.startswith("Still stopping")
    update = run.trainer_ended(ok=True, has_checkpoint=True)
    assert run.state == EXPORTING and update.progress == Progress(None, "Exporting…")
    assert update.status == "Exporting cats (ONNX, checked against torch)…"
    update = run.export_ended(ok=True)
    assert run.state == IDLE and update.state == IDLE and update.progress == Progress(1.0, "Done")
    assert update.message == "Trained model cats is ready"
    assert update.status == "Exported cats: it is now in the Latent panel's model list"


@pytest.mark.parametrize("state, allowed", [
    (IDLE, {"begin", "export_past"}),
    (STARTING, {"started", "pause", "stop", "export", "end"}),
    (RUNNING, {"pause", "stop", "export", "end"}),
    (PAUSED, {"resume", "stop", "export", "end"}),
    (STOPPING, {"export", "end"}),
    (EXPORTING, {"end"}),
])
def test_each_state_allows_only_its_requests(state, allowed):
    run = TrainRun()
    run.state = state
    assert {request for request in TRANSITIONS if run.can(request)} == allowed


def test_refused_requests_change_nothing():
    run = TrainRun()
    assert run.set_paused(True) is None and run.set_paused(False) is None and run.stop() is None
    assert run.still_stopping() is None and run.state == IDLE
    run = begun()
    assert run.begin(RUNDIR, "dogs", "generate", []) is None and run.model_name == "cats"  # one run at a time
    assert run.set_paused(False) is None and run.state == STARTING  # nothing to resume
    run.set_paused(True)
    assert run.set_paused(True) is None and run.state == PAUSED
    run.stop()
    assert run.set_paused(False) is None and run.set_paused(True) is None and run.stop() is None
    assert run.state == STOPPING
    run.trainer_ended(ok=True, has_checkpoint=True)
    assert run.stop() is None and run.set_paused(True) is None and run.state == EXPORTING


def test_a_run_paused_while_starting_stays_paused_when_the_trainer_starts():
    run = begun()
    run.set_paused(True)
    update = run.feed(event(START, step=0, device="cpu"))
    assert run.state == PAUSED and update.state is None and update.status == "Training on CPU"


@pytest.mark.parametrize("ok, has_checkpoint, stopped, status", [
    (True, False, False, "The trainer ended before its first checkpoint; there is nothing to export"),
    (False, False, False, "Training failed"),
    (False, True, True, "The trainer ended while stopping"),
])
def test_a_trainer_ending_without_a_checkpoint_to_export_goes_back_to_idle(ok, has_checkpoint, stopped, status):
    run = begun()
    run.feed(event(START, step=0))
    if stopped:
        run.note_stop_sent()
        run.stop()
    update = run.trainer_ended(ok, has_checkpoint)
    assert run.state == IDLE and update.state == IDLE and update.status == status and update.progress is None


def test_a_failed_export_says_where_the_checkpoint_is():
    run = begun()
    run.trainer_ended(ok=True, has_checkpoint=True)
    update = run.export_ended(ok=False)
    assert run.state == IDLE and update.progress == Progress(0.0, "Export failed") and update.message is None
    assert update.status == f"Export failed; the run folder {RUNDIR} keeps the checkpoint"


def test_a_new_run_starts_from_nothing():
    run = begun()
    feed_all(run, [event(DATASET, images=8, skipped=[]), event(PROGRESS, step=10, loss_g=0.7, loss_d=1.3),
                   event(METRICS, step=10, swd=40.0), event(SAMPLES, step=10, path="samples/step_000010.png"),
                   event(DONE, reason="steps", step=10)])
    run.note_stop_sent()
    run.trainer_ended(ok=False, has_checkpoint=False)
    run.begin(RUNDIR, "cats-2", "generate", [])
    assert run.loss == {"loss_g": [], "loss_d": []} and run.metric == [] and run.samples is None
    assert run.dataset is run.done is run.last_progress is None and not run.stop_sent


# -- events --------------------------------------------------------------------------------------


def test_a_generator_run_becomes_series_status_and_eta():
    run = begun()
    updates = feed_all(run, [
        event(SCAN, stage="reading", done=3, total=12),
        event(SCAN, stage="preparing", done=12, total=12),
        event(DATASET, images=11, skipped=[{"path": "/d/bad.png", "reason": "truncated"}, "not a dict"],
              cached=True, summary="11 images, 64 px"),
        event(WARNING, step=0, kind="skipped-file", message="1 file was skipped"),
        event(START, step=0, resumed=False, base="emoji64", params_G=1_234_567, device="cpu"),
        event(PROGRESS, step=10, images_seen=320, loss_g=0.69, loss_d=1.37, r1=None, images_per_s=41.53,
              eta_s=3_630.0, elapsed_s=30.0),
        event(PROGRESS, step=20, images_seen=640, loss_g=0.71, loss_d=None, images_per_s=40.0, eta_s=None,
              elapsed_s=61.0),
        event(SAMPLES, step=20, path=str(RUNDIR / "samples" / "step_000020.png")),
        event(CHECKPOINT, step=20, path=str(RUNDIR / "checkpoint.safetensors")),
        event(METRICS, step=20, swd=41.25, diversity=0.2, plot=str(RUNDIR / "curves.png")),
        event(PAUSED_EVENT, step=20),
        event(RESUMED, step=20),
        event(DONE, reason="stop-file", step=1_234, checkpoint=str(RUNDIR / "checkpoint.safetensors")),
    ])
    scan_reading, scan_preparing, dataset, warning, start, first, second, samples, checkpoint, metrics, paused, \
        resumed, done = updates
    assert scan_reading.progress == Progress(0.25, "Reading images: 3 of 12")
    assert scan_preparing.progress == Progress(1.0, "Preparing images: 12 of 12")
    assert dataset.data_summary == "11 images, 64 px (from the run's cache)"
    assert dataset.skipped == [{"path": "/d/bad.png", "reason": "truncated"}]
    assert dataset.log == ["dataset: 11 images, 64 px (from the run's cache)"] and run.dataset["images"] == 11
    assert warning.status == warning.message == "Warning (skipped-file): 1 file was skipped"
    assert start.status == "Training on CPU, from emoji64, G 1.23 M parameters"
    assert start.progress == Progress(0.0, "Step 0") and start.state == RUNNING
    # The bar follows time: 30 s done of 30 s + 1 h 0 min 30 s left.
    assert first.progress == Progress(30 / 3_660, "Step 10 · 1:00:30 left")
    assert first.stats == "41.5 img/s · 320 images seen · 0:30 elapsed"
    assert first.loss_points == [("loss_g", 10, 0.69), ("loss_d", 10, 1.37)]
    assert second.progress == Progress(None, "Step 20")  # no ETA: a busy bar
    assert second.stats == "40.0 img/s · 640 images seen · 1:01 elapsed"
    assert second.loss_points == [("loss_g", 20, 0.71)]  # a null loss is left out
    assert run.loss == {"loss_g": [(10, 0.69), (20, 0.71)], "loss_d": [(10, 1.37)]}
    assert run.last_progress["step"] == 20
    assert samples.samples == run.samples == RUNDIR / "samples" / "step_000020.png"
    assert samples.samples_caption == "Step 20 · fixed seeds, so steps compare"
    assert checkpoint.log == ["checkpoint at step 20"]
    assert metrics.metric_point == (20, 41.25) and run.metric == [(20, 41.25)]
    assert metrics.log == ["metrics at step 20: {'swd': 41.25, 'diversity': 0.2}"]
    assert paused.status == "Paused at step 20; press Resume to go on"
    assert paused.progress == Progress(None, "Paused at step 20")  # the bar stays as it was
    assert resumed.status == "Training again from step 20"
    assert done.status == "The trainer was stopped at step 1,234; checkpoint written"
    assert run.done["reason"] == "stop-file"


def test_an_inpainting_run_plots_psnr_in_the_holes():
    run = begun("inpaint")
    update = run.feed(event(METRICS, step=40, psnr_hole=24.5, l1_hole=0.05,
                            psnr_by_kind={"strokes": 25.0, "box": 23.0}, reference="held-out", images=64,
                            seconds=1.2, plot=str(RUNDIR / "curves.png")))
    assert update.metric_point == (40, 24.5) and run.metric == [(40, 24.5)]
    assert run.feed(event(METRICS, step=80, swd=30.0)).metric_point is None  # not this task's measure


def test_a_run_with_a_step_count_measures_progress_in_steps():
    run = begun(steps=200)
    update = run.feed(event(PROGRESS, step=50, eta_s=10.0, elapsed_s=1.0))
    assert update.progress == Progress(0.25, "Step 50 · 0:10 left")
    assert run.feed(event(PROGRESS, step=250)).progress.fraction == 1.0  # resumed past the goal: full, not more


def test_relative_sample_paths_are_in_the_run_folder():
    run = begun()
    assert run.feed(event(SAMPLES, step=4, path="samples/step_000004.png")).samples == \
        RUNDIR / "samples" / "step_000004.png"


def test_start_says_what_the_run_resumes_from():
    update = begun().feed(event(START, step=300, resumed=True, base=None, device="cuda", params_G=0))
    assert update.status == "Training on CUDA, resumed at step 300" and update.progress == Progress(0.0, "Step 300")


def test_done_reasons_in_words():
    run = begun()
    assert run.feed(event(DONE, reason="minutes", step=9)).status == \
        "The trainer used its time at step 9; checkpoint written"
    assert run.feed(event(DONE, reason="nan", step=9)).status == "The trainer ended (nan) at step 9; checkpoint written"


def test_lines_that_are_not_events_and_unknown_events_are_logged():
    run = begun()
    assert run.feed(event(TEXT, line="hello")).log == ["trainer (not a protocol line): hello"]
    assert run.feed({"event": "surprise", "x": 1}).log == ["trainer event surprise: {'event': 'surprise', 'x': 1}"]
    run.trainer_ended(ok=True, has_checkpoint=True)
    assert run.feed(event(TEXT, line="exported cats to /m/cats")).log == ["export: exported cats to /m/cats"]


MALFORMED = [
    {},
    {"event": None},
    {"event": SCAN}, {"event": SCAN, "done": "3", "total": "12"}, {"event": SCAN, "done": 3, "total": 0},
    {"event": SCAN, "done": float("nan"), "total": 12}, {"event": SCAN, "done": 5, "total": -4, "stage": None},
    {"event": DATASET}, {"event": DATASET, "skipped": 5, "summary": 7, "images": None},
    {"event": DATASET, "skipped": "abc", "cached": "yes"},
    {"event": START}, {"event": START, "step": "x", "params_G": "many", "device": None, "base": 3, "resumed": 1},
    {"event": PROGRESS}, {"event": PROGRESS, "step": None, "loss_g": "0.7", "loss_d": True, "eta_s": "soon",
                          "elapsed_s": None, "images_per_s": [], "images_seen": "lots"},
    {"event": PROGRESS, "step": float("inf"), "eta_s": float("inf"), "elapsed_s": float("nan"), "loss_g": float("nan")},
    {"event": PROGRESS, "step": 10**400, "eta_s": -5, "elapsed_s": 5, "images_seen": 1e300},
    {"event": SAMPLES}, {"event": SAMPLES, "path": None, "step": "x"}, {"event": SAMPLES, "path": ""},
    {"event": CHECKPOINT},
    {"event": METRICS}, {"event": METRICS, "swd": "good", "step": None}, {"event": METRICS, "swd": None},
    {"event": WARNING}, {"event": PAUSED_EVENT}, {"event": PAUSED_EVENT, "step": "x"},
    {"event": RESUMED, "step": None}, {"event": DONE}, {"event": DONE, "reason": None, "step": "x"},
    {"event": TEXT},
]


@pytest.mark.parametrize("item", MALFORMED, ids=[str(m)[:60] for m in MALFORMED])
@pytest.mark.parametrize("steps", [None, 100])
def test_malformed_events_never_raise(item, steps):
    run = begun(steps=steps)
    update = run.feed(item)
    assert update.progress is None or update.progress.fraction is None or 0.0 <= update.progress.fraction <= 1.0
    assert all(v == v for _, _, v in update.loss_points)  # no NaN reaches a plot
    assert update.metric_point is None
    assert run.loss == {"loss_g": [], "loss_d": []} and run.metric == []


def test_malformed_fields_read_as_unknown():
    run = begun()
    update = run.feed({"event": PROGRESS, "step": "x", "loss_g": "0.7", "eta_s": "soon", "elapsed_s": 5,
                       "images_per_s": None, "images_seen": None})
    assert update.progress == Progress(None, "Step 0") and update.stats == "0 images seen · 0:05 elapsed"
    update = run.feed({"event": DATASET, "skipped": 5, "summary": None, "images": 3})
    assert update.data_summary == "3 images" and update.skipped == []
    update = run.feed({"event": SAMPLES, "step": 3})
    assert update.samples is None and run.samples is None and update.log
