"""Real, tiny training runs in a subprocess (the way the app runs them): the
event stream, resume, export, STOP/PAUSE files, signals and kill -9."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dataset_factory import make_images, make_messy_folder
from studio.train import checkpoint as ckpt_io
from studio.train.cli import main as train_main
from studio.train.nets import Discriminator, Generator

REPO = Path(__file__).resolve().parents[2]
# 16 px, narrow nets, one thread: a step takes milliseconds even on a busy 2-core machine.
TINY = ["--resolution", "16", "--batch", "4", "--width", "0.25", "--threads", "1"]


def _env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["STUDIO_CACHE_DIR"] = str(cache)
    return env


def _run(args: list, cache: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO, env=_env(cache),
                          capture_output=True, text=True, timeout=timeout)


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


class Trainer:
    """A trainer subprocess whose JSON events are read as they come."""

    def __init__(self, args: list, cache: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "studio.train", *map(str, args)], cwd=REPO,
                                     env=_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self._queue: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip():
                event = json.loads(line)
                self.events.append(event)
                self._queue.put(event)
        self._queue.put(None)

    def wait_for(self, kind: str, timeout: float = 60, where=lambda e: True) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if event is None:
                raise AssertionError(f"trainer ended before a {kind!r} event: {self.proc.stderr.read()}")
            if event["event"] == kind and where(event):
                return event
        raise AssertionError(f"no {kind!r} event within {timeout} s")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(timeout=10)
        return self.proc.returncode, self.proc.stderr.read()

    def steps(self, kind: str = "progress") -> list[int]:
        return [e["step"] for e in self.events if e["event"] == kind]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    data, expected_skips = make_messy_folder(root / "data")
    run, cache = root / "run", root / "cache"
    proc = _run(["--data", data, "--out", run, *TINY, "--steps", 6, "--checkpoint-every", 3, "--log-every", 1,
                 "--seed", 3], cache)
    assert proc.returncode == 0, proc.stderr
    return run, _events(proc.stdout), expected_skips, data, cache


def test_events_follow_the_protocol(tiny_run):
    run, events, expected_skips, data, _ = tiny_run
    kinds = [e["event"] for e in events]
    assert kinds[kinds.index("dataset") + 1:kinds.index("start")] == ["warning"]  # skipped files, once
    dataset = next(e for e in events if e["event"] == "dataset")
    root = data.resolve()
    assert {os.path.relpath(s["path"], root): s["reason"] for s in dataset["skipped"]} == expected_skips
    assert dataset["images"] == 8 and dataset["alpha"] == 8 and dataset["cached"] is False
    assert set(dataset) >= {"sizes", "aspect", "seconds", "summary"}
    start = next(e for e in events if e["event"] == "start")
    assert start["step"] == 0 and start["resumed"] is False and start["base"] is None
    assert start["device"] == "cpu" and start["resolution"] == 16 and start["batch"] == 4 and start["params_G"] > 0
    progress = [e for e in events if e["event"] == "progress"]
    assert [e["step"] for e in progress] == [1, 2, 3, 4, 5, 6]
    for e in progress:
        assert e["images_seen"] == 4 * e["step"] and np.isfinite(e["loss_g"]) and np.isfinite(e["loss_d"])
        assert e["images_per_s"] > 0 and e["eta_s"] is not None and e["lr"] == 0.002 and 0.0 <= e["aug_p"] <= 1.0
    assert [e["step"] for e in events if e["event"] == "samples"] == [3, 6]
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [3, 6]
    metrics = [e for e in events if e["event"] == "metrics"]
    assert [m["step"] for m in metrics] == [6]  # default: every 4 checkpoints, and at the end
    assert metrics[0]["swd"] > 0 and 0 < metrics[0]["diversity"] < 1 and Path(metrics[0]["plot"]).is_file()
    assert events[-1] == {"event": "done", "reason": "steps", "step": 6, "images_seen": 24,
                          "wall_time_s": events[-1]["wall_time_s"], "checkpoint": str(run / "checkpoint.safetensors")}
    grid = Image.open(run / "samples" / "step_000006.png")
    assert grid.size == (8 * 16 + 7 * 2, 4 * 16 + 3 * 2)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "progress"] == [1, 2, 3, 4, 5, 6]
    report = json.loads((run / "dataset_report.json").read_text())
    assert len(report["skipped"]) == len(expected_skips)


def test_checkpoint_reloads_into_the_networks(tiny_run):
    run, *_ = tiny_run
    ckpt = ckpt_io.load(run)
    assert ckpt.info["step"] == 6 and ckpt.info["images_seen"] == 24 and ckpt.info["metrics"]["step"] == 6
    assert json.loads((run / "checkpoint.json").read_text())["step"] == 6
    config = ckpt.info["config"]
    assert config["resolution"] == 16 and config["images"] == 8 and config["fit"] == "auto"
    G = Generator(config["latent_size"], config["resolution"], config["width"])
    G.load_state_dict(ckpt.module_state("G_ema"))  # strict: every key present, no extras
    G.load_state_dict(ckpt.module_state("G"))
    Discriminator(config["resolution"], config["width"]).load_state_dict(ckpt.module_state("D"))
    assert ckpt_io.load(run / ckpt_io.PREVIOUS_FILE).info["step"] == 3


def test_resume_from_an_earlier_checkpoint_continues_exactly(tiny_run, tmp_path):
    run, _, _, _, cache = tiny_run
    copy = tmp_path / "run"
    copy.mkdir()
    shutil.copy(run / ckpt_io.PREVIOUS_FILE, copy / ckpt_io.CHECKPOINT_FILE)  # the step-3 checkpoint
    proc = _run(["--resume", copy, "--steps", 6, "--log-every", 1, "--threads", 1], cache)  # data from the config
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    assert next(e for e in events if e["event"] == "dataset")["cached"] is True
    start = next(e for e in events if e["event"] == "start")
    assert start["resumed"] is True and start["step"] == 3
    assert [e["step"] for e in events if e["event"] == "progress"] == [4, 5, 6]
    # Same RNG states, same data, same thread count: the very same weights as
    # the run that never stopped.
    a, b = ckpt_io.load(run), ckpt_io.load(copy)
    trained = [k for k in a.tensors if k.split(".")[0] in ("G", "G_ema", "D", "opt_G", "opt_D")]
    assert trained and all(torch.equal(a.tensors[k], b.tensors[k]) for k in trained)


def test_export_passes_parity_and_registry(tiny_run, tmp_path):
    import onnxruntime as ort

    from studio.engine.registry import Registry
    from studio.train.samples import seed_latents, to_pixels

    run, _, _, _, cache = tiny_run
    proc = _run(["export", run, "--name", "tiny16", "--dest", tmp_path], cache)
    assert proc.returncode == 0, proc.stderr
    assert float(re.search(r"max abs diff (\S+)", proc.stdout).group(1)) <= 1e-3
    folder = tmp_path / "tiny16"
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint.safetensors", "manifest.json", "model.onnx", "samples.png"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["outputs"][0]["shape"] == ["batch", 3, 16, 16]
    assert manifest["training"]["steps"] == 6 and manifest["training"]["images_seen"] == 24
    assert manifest["training"]["metrics"]["step"] == 6 and manifest["licence"].startswith("CC0")
    entry = Registry([tmp_path]).get("tiny16")  # sha256 and ONNX signature verified there
    assert entry.sha256 == manifest["sha256"]
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    pixels = to_pixels(session.run(["image"], {"latent": seed_latents(range(32), 128)})[0])
    sheet = np.asarray(Image.open(folder / "samples.png").convert("RGB"))
    assert np.array_equal(sheet[18:34, 18 * 3:18 * 3 + 16], pixels[8 + 3])  # tile of seed 11
    ckpt = ckpt_io.load(folder / "checkpoint.safetensors")
    assert not any(k.startswith(("opt_", "rng.", "G.")) for k in ckpt.tensors)
    Generator(128, 16, ckpt.info["config"]["width"]).load_state_dict(ckpt.module_state("G_ema"))


def test_pause_and_stop_files_then_resume_and_sigterm(tmp_path):
    data, run, cache = make_images(tmp_path / "data"), tmp_path / "run", tmp_path / "cache"
    t = Trainer(["--data", data, "--out", run, *TINY, "--checkpoint-every", 100000, "--log-every", 1,
                 "--metrics-every", 0, "--nice", 5], cache)
    try:
        t.wait_for("progress")
        if hasattr(os, "getpriority"):
            assert os.getpriority(os.PRIO_PROCESS, t.proc.pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + 5, 19)
        (run / "PAUSE").touch()
        paused = t.wait_for("paused")
        time.sleep(0.6)
        assert max(t.steps()) <= paused["step"]  # nothing happens while paused
        assert not (run / "checkpoint.safetensors").exists()
        (run / "PAUSE").unlink()
        assert t.wait_for("resumed")["step"] == paused["step"]
        t.wait_for("progress", where=lambda e: e["step"] > paused["step"])
        (run / "STOP").touch()
        rc, err = t.finish()
    finally:
        t.proc.kill()
    assert rc == 0, err
    done = t.events[-1]
    assert done["event"] == "done" and done["reason"] == "stop-file" and done["step"] > paused["step"]
    assert ckpt_io.load(run).info["step"] == done["step"] and not (run / "STOP").exists()

    # The stopped run goes on (data and recipe from its config) until SIGTERM.
    t = Trainer(["--resume", run, "--threads", 1, "--log-every", 1, "--metrics-every", 0], cache)
    try:
        assert t.wait_for("start")["step"] == done["step"]
        t.wait_for("progress")
        t.proc.send_signal(signal.SIGTERM)
        rc, err = t.finish()
    finally:
        t.proc.kill()
    assert rc == 0, err
    last = t.events[-1]
    assert last["event"] == "done" and last["reason"] == "SIGTERM" and last["step"] > done["step"]
    assert ckpt_io.load(run).info["step"] == last["step"]


def test_kill_9_at_random_moments_always_resumes_losing_at_most_one_interval(tmp_path):
    """Checkpoints every step, so most kills land inside a checkpoint write."""
    data, run, cache = make_images(tmp_path / "data"), tmp_path / "run", tmp_path / "cache"
    interval = 1
    rng = random.Random(2026)
    for attempt in range(3):
        before = ckpt_io.load(run).info["step"] if ckpt_io.exists(run) else 0
        t = Trainer(["--data", data, "--out", run, "--resume", *TINY, "--checkpoint-every", interval,
                     "--log-every", 1, "--metrics-every", 0], cache)
        try:
            assert t.wait_for("start")["step"] == before  # resumed from the last complete checkpoint
            t.wait_for("progress")
            time.sleep(rng.uniform(0.0, 0.4))
            t.proc.send_signal(signal.SIGKILL)
            t.finish()
        finally:
            t.proc.kill()
        seen = max(t.steps(), default=before)
        saved = max(t.steps("checkpoint"), default=before)
        if not ckpt_io.exists(run):  # killed before the first checkpoint was complete
            assert saved == 0 and seen <= interval
            continue
        ckpt = ckpt_io.load(run)
        assert ckpt.info["step"] >= max(saved, seen - interval), (attempt, ckpt.info["step"], seen, saved)
        config = ckpt.info["config"]
        Generator(128, 16, config["width"]).load_state_dict(ckpt.module_state("G"))
        Discriminator(16, config["width"]).load_state_dict(ckpt.module_state("D"))
    target = ckpt_io.load(run).info["step"] + 2
    proc = _run(["--resume", run, "--steps", target, "--threads", 1, "--metrics-every", 0], cache)
    assert proc.returncode == 0, proc.stderr
    assert _events(proc.stdout)[-1]["step"] == target
    assert not list(run.glob(".checkpoint.safetensors.*.tmp"))  # a resumed run sweeps up half-written files


def test_bar_mode_prints_human_lines(tmp_path, capfd):
    data = make_images(tmp_path / "data", count=4)
    code = train_main(["--data", str(data), "--out", str(tmp_path / "run"), "--resolution", "8", "--batch", "2",
                       "--width", "0.25", "--steps", "2", "--progress", "bar", "--checkpoint-every", "1"])
    out, err = capfd.readouterr()
    assert code == 0 and out == ""
    assert err.startswith("data: 4 images in data") and "training from step 0 on cpu" in err
    assert "step 2: checkpoint" in err and err.rstrip().endswith("done (steps) at step 2, checkpoint "
                                                                  f"{tmp_path / 'run' / 'checkpoint.safetensors'}")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_at_a_terminal_the_bar_is_the_default_and_json_otherwise(tmp_path):
    data = make_images(tmp_path / "data", count=4)
    args = [sys.executable, "-m", "studio", "train", "--data", str(data), "--resolution", "8", "--batch", "2",
            "--width", "0.25", "--steps", "1", "--threads", "1"]
    main_side, terminal = os.openpty()  # stdout is a real terminal, as when a person types the command
    with os.fdopen(main_side, "rb", buffering=0) as screen:
        proc = subprocess.run(args + ["--out", str(tmp_path / "at-terminal")], stdout=terminal,
                              stderr=subprocess.PIPE, text=True, timeout=300)
        os.close(terminal)
        shown = b""
        while chunk := _read_available(screen):
            shown += chunk
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("data: 4 images") and '"event"' not in proc.stderr + shown.decode()
    piped = subprocess.run(args + ["--out", str(tmp_path / "piped")], capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0 and json.loads(piped.stdout.splitlines()[0])["event"]


def _read_available(stream) -> bytes:
    try:
        return stream.read(4096)
    except OSError:  # EIO: the terminal's other side is closed and drained
        return b""


@pytest.mark.parametrize("flag, value", [("--lr", "inf"), ("--r1-gamma", "-1"), ("--r1-gamma", "nan"),
                                         ("--grad-clip", "-1"), ("--ema-kimg", "0"), ("--seed", "-1"),
                                         ("--seed", str(2**70)), ("--width", "1e-9"), ("--width", "1e9"),
                                         ("--minutes", "inf"), ("--batch", "1000000000"), ("--steps", "0")])
def test_numbers_out_of_range_are_refused_before_anything_is_read(tmp_path, capfd, flag, value):
    assert train_main(["--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), flag, value]) == 2
    out, err = capfd.readouterr()
    assert out == "" and err.startswith(f"error: {flag} must be ") and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("case", ["missing data", "no images", "resume nothing", "run exists", "recipe clash",
                                  "bad background", "no out", "bad device", "unwritable out"])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, capfd, case):
    data = tmp_path / "data"
    args = {"missing data": ["--data", data, "--out", tmp_path / "run"],
            "no images": ["--data", data, "--out", tmp_path / "run"],
            "resume nothing": ["--resume", tmp_path],
            "run exists": ["--data", data, "--out", tmp_path / "run"],
            "recipe clash": ["--resume", tmp_path / "run", "--resolution", "32"],
            "bad background": ["--data", data, "--out", tmp_path / "run", "--background", "blue"],
            "no out": ["--data", data],
            "bad device": ["--data", data, "--out", tmp_path / "run", "--device", "warp-drive"],
            "unwritable out": ["--data", data, "--out", tmp_path / "a-file" / "run"]}[case]
    if case == "unwritable out":
        make_images(data, count=2)
        (tmp_path / "a-file").write_text("a file where a folder should be")
    if case == "no images":
        data.mkdir()
        (data / "notes.txt").write_text("not an image")
    if case in ("run exists", "recipe clash"):
        make_images(data, count=2)
        ckpt_io.save(tmp_path / "run", ckpt_io.pack({"G": Generator(128, 16, 0.25)}, {}, {
            "step": 7, "images_seen": 28, "config": {"resolution": 16, "batch": 2, "lr": 0.002, "data": str(data)}}))
    assert train_main([str(a) for a in args]) == 2
    out, err = capfd.readouterr()
    assert all(json.loads(line)["event"] == "scan" for line in out.splitlines())  # at most "reading files"
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert {"missing data": str(data), "no images": "no usable images", "resume nothing": "nothing to resume",
            "run exists": "--resume", "recipe clash": "--resolution 16", "bad background": "#rrggbb",
            "no out": "--out", "bad device": "device 'warp-drive' is not usable",
            "unwritable out": f"cannot make the run folder {tmp_path / 'a-file' / 'run'}"}[case] in err


def test_export_of_missing_run_is_error_exit_2(tmp_path):
    from studio.train.export import main

    assert main([str(tmp_path / "nope"), "--name", "x", "--dest", str(tmp_path)]) == 2
    assert main([str(tmp_path), "--name", "../evil", "--dest", str(tmp_path)]) == 2


def test_sample_grids_come_between_checkpoints_on_a_clock(tmp_path):
    """A first grid soon after the start and then every so often, whatever
    the checkpoint interval (here shortened to 0.2 s, then every 0.5 s)."""
    data = make_images(tmp_path / "data", 8, (16, 16))
    env = {**_env(tmp_path / "cache"), "STUDIO_TRAIN_PREVIEW_S": "0.2,0.5"}
    proc = subprocess.run([sys.executable, "-m", "studio.train", "--data", str(data), "--out", str(tmp_path / "run"),
                           *TINY, "--minutes", "0.05", "--checkpoint-every", "100000", "--metrics-every", "0"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    events = _events(proc.stdout)
    samples = [e for e in events if e["event"] == "samples"]
    checkpoints = [e for e in events if e["event"] == "checkpoint"]
    assert len(checkpoints) == 1 and len(samples) >= 3  # the final checkpoint's grid and the clock's before it
    assert all(Path(e["path"]).is_file() for e in samples)
    steps = [e["step"] for e in samples]
    assert steps == sorted(steps) and steps[0] < checkpoints[0]["step"]


LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from studio.train.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="RLIMIT_FSIZE as on Linux")
def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_last_one_is_kept(tmp_path):
    data = make_images(tmp_path / "data", count=4)
    run = tmp_path / "run"
    assert train_main(["--data", str(data), "--out", str(run), "--resolution", "8", "--batch", "2",
                       "--width", "0.25", "--steps", "2", "--threads", "1", "--progress", "json"]) == 0
    kept = (run / "checkpoint.safetensors").read_bytes()
    # Every file this process writes may hold at most 64 KB: the next checkpoint cannot be written.
    proc = subprocess.run([sys.executable, "-c", LIMITED, str(64 * 1024), "--resume", str(run), "--steps", "4",
                           "--threads", "1", "--progress", "json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot write the checkpoint in {run}: ") and proc.stderr.count("\n") == 1
    assert (run / "checkpoint.safetensors").read_bytes() == kept and ckpt_io.load(run).info["step"] == 2


def test_an_export_to_a_place_that_cannot_be_written_is_one_line(tmp_path, capfd):
    from studio.train.export import main as export_main

    data = make_images(tmp_path / "data", count=4)
    assert train_main(["--data", str(data), "--out", str(tmp_path / "run"), "--resolution", "8", "--batch", "2",
                       "--width", "0.25", "--steps", "1", "--threads", "1", "--progress", "json"]) == 0
    capfd.readouterr()
    (tmp_path / "a-file").write_text("a file where a folder should be")
    assert export_main([str(tmp_path / "run"), "--name", "x", "--dest", str(tmp_path / "a-file" / "models")]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"error: cannot write in {tmp_path / 'a-file' / 'models'} (") and err.count("\n") == 1


@pytest.mark.parametrize("info, message", [({"step": 3, "config": {"task": "generate"}}, "can continue (its recipe lacks"),
                                           ({"step": 3, "config": []}, "not a checkpoint of this trainer"),
                                           ([1, 2], "not a checkpoint of this trainer")])
def test_a_foreign_checkpoint_is_one_line_for_resume_base_and_export(tmp_path, capfd, info, message):
    from safetensors.torch import save_file

    from studio.train.export import main as export_main

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    save_file({"w": torch.zeros(2)}, str(foreign / "checkpoint.safetensors"), metadata={"info": json.dumps(info)})
    data = make_images(tmp_path / "data", count=4)
    assert train_main(["--resume", str(foreign), "--data", str(data), "--steps", "5"]) == 2
    assert export_main([str(foreign), "--name", "x", "--dest", str(tmp_path / "models")]) == 2
    err = capfd.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err), err
    assert message in err[0] and ("not a" in err[1])
