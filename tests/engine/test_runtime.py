import numpy as np
import onnxruntime as ort
import pytest

from studio.engine import runtime
from studio.engine.devices import ACCELERATORS, DEVICES
from studio.engine.runtime import DeviceError, Runtime, accelerator_status, requested_device, resolve_device


def test_device_choice_from_argument_env_and_default(monkeypatch):
    monkeypatch.delenv("STUDIO_DEVICE", raising=False)
    assert requested_device() == "auto"
    monkeypatch.setenv("STUDIO_DEVICE", "CPU")
    assert requested_device() == "cpu"
    assert requested_device("cuda") == "cuda"  # the argument beats the environment
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        requested_device("tpu")


@pytest.mark.skipif(runtime.accelerator_status("cuda").usable, reason="this machine has a usable GPU")
def test_unusable_cuda_falls_back_to_cpu_with_one_notice(monkeypatch):
    # The real probe runs: the GPU build lists CUDA, but no session gets it here.
    monkeypatch.delenv("STUDIO_DEVICE", raising=False)
    assert resolve_device("cuda") == "cpu"
    rt = Runtime("cuda")
    assert rt.device == "cpu"
    if ACCELERATORS["cuda"][0] in ort.get_available_providers():
        assert rt.notice and "running on CPU" in rt.notice and "\n" not in rt.notice
    assert Runtime("cpu").notice is None  # asking for CPU is not news
    assert rt.shown_notice == rt.notice  # asked for by name: said


@pytest.mark.skipif(runtime.accelerator_status("cuda").usable, reason="this machine has a usable GPU")
def test_under_auto_a_cpu_machine_is_not_news(monkeypatch):
    monkeypatch.delenv("STUDIO_DEVICE", raising=False)
    rt = Runtime("auto")
    assert rt.device == "cpu" and rt.shown_notice is None


def test_probe_prints_nothing(capfd, monkeypatch):
    monkeypatch.setattr(runtime, "_statuses", {})
    for name in ACCELERATORS:
        accelerator_status(name)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("name", [n for n in ACCELERATORS if ACCELERATORS[n][0] not in ort.get_available_providers()])
def test_an_accelerator_this_build_lacks_is_refused_by_the_real_probe(name):
    status = accelerator_status(name)
    assert not status.usable and "this onnxruntime build has no" in status.reason
    assert resolve_device(name) == "cpu"
    rt = Runtime(name)
    assert rt.device == "cpu" and rt.notice == f"{name.upper()} not usable ({status.reason}); running on CPU"


def test_auto_takes_the_best_usable_accelerator_in_order(monkeypatch):
    usable = {"coreml", "directml"}
    monkeypatch.setattr(runtime, "accelerator_status",
                        lambda name: runtime.AcceleratorStatus(name in usable, "test"))
    assert resolve_device("auto") == "coreml"  # CoreML before DirectML; CUDA, first, is unusable here
    usable.add("cuda")
    assert resolve_device("auto") == "cuda"
    assert resolve_device("directml") == "directml" and resolve_device("cpu") == "cpu"
    assert DEVICES[:2] == ("auto", "cpu")


def test_sessions_are_cached_threads_set_and_outputs_match_plain_onnxruntime(tiny_generator_dir):
    model = tiny_generator_dir / "tiny" / "model.onnx"
    rt = Runtime("cpu", threads=1)
    session = rt.session(model)
    assert rt.session(model) is session
    assert session.providers == ["CPUExecutionProvider"]
    z = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    ours = session.run({"latent": z})[0]
    plain = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"latent": z})[0]
    np.testing.assert_allclose(ours, plain, atol=1e-6)


def test_default_threads_leave_a_core(monkeypatch):
    monkeypatch.delenv("STUDIO_THREADS", raising=False)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 8)
    assert runtime.default_threads() == 7
    monkeypatch.setenv("STUDIO_THREADS", "3")
    assert runtime.default_threads() == 3
