"""The one place that makes onnxruntime sessions.

Device choice: an accelerator (CUDA, then CoreML, then DirectML: devices.py)
only when it really works here, CPU otherwise. onnxruntime silently falls back
to CPU when a provider cannot load, so the truth is read back from
`session.get_providers()` after a probe session, never assumed from
`get_available_providers()` (the GPU build lists CUDA even with no GPU).
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import onnxruntime as ort

from studio.engine.devices import ACCELERATORS, DEVICES
from studio.engine.fused_graphs import fused_graph

CPU = "CPUExecutionProvider"

# A 65-byte ONNX model (one Relu) used to find out whether an accelerator's
# provider really comes up, without touching any user model.
_PROBE_MODEL = base64.b64decode(
    "CAg6NwoMCgF4EgF5IgRSZWx1EgVwcm9iZVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0="
)

# onnxruntime logs provider load failures (TensorRT, CUDA) at warning/error
# level from C++; artists should see our one-line notice instead.
ort.set_default_logger_severity(4)


class DeviceError(ValueError):
    """A device name that is not one of devices.DEVICES."""


@dataclass(frozen=True)
class AcceleratorStatus:
    usable: bool
    reason: str  # why not, or what runs it when usable


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple  # ints, or strings for dynamic axes
    dtype: str  # numpy dtype name, e.g. "float32"


@contextlib.contextmanager
def _silenced_native_output() -> Iterator[None]:
    """Send the C++ side's stdout/stderr to /dev/null for the duration.

    Provider libraries print load errors straight to file descriptors 1 and 2,
    past Python's sys.stderr, so the descriptors are redirected as well.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
    except (OSError, ValueError):  # no real descriptors (embedded, some IDEs)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        # onnxruntime's Python helpers print() too, and sys.stdout may not be fd 1.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


_status_lock = threading.Lock()
_statuses: dict[str, AcceleratorStatus] = {}


def accelerator_status(name: str) -> AcceleratorStatus:
    """Whether accelerator `name` (a key of devices.ACCELERATORS) really runs
    here: probed once per process."""
    with _status_lock:
        if name not in _statuses:
            _statuses[name] = _probe(name)
        return _statuses[name]


def _probe(name: str) -> AcceleratorStatus:
    provider, label = ACCELERATORS[name]
    if provider not in ort.get_available_providers():
        return AcceleratorStatus(False, f"this onnxruntime build has no {provider}")
    with _silenced_native_output():
        if name == "cuda":
            # Loads the CUDA/cuDNN libraries that pip's nvidia-* wheels provide, so
            # no system-wide CUDA install is needed.
            with contextlib.suppress(Exception):
                ort.preload_dlls()
        try:
            probe = ort.InferenceSession(_PROBE_MODEL, _session_options(1), providers=[provider, CPU])
            active = probe.get_providers()
        except Exception as exc:  # any provider failure means "not usable"
            return AcceleratorStatus(False, f"the {label} provider failed to start ({type(exc).__name__})")
    if provider in active:
        return AcceleratorStatus(True, label)
    if name != "cuda":
        return AcceleratorStatus(False, f"the {label} provider did not start")
    if sys.platform.startswith("linux") and not Path("/dev/nvidiactl").exists():
        return AcceleratorStatus(False, "no NVIDIA GPU or driver found")
    return AcceleratorStatus(False, "the CUDA or cuDNN libraries this onnxruntime needs did not load")


def requested_device(requested: str | None = None) -> str:
    """The device asked for: the argument, else STUDIO_DEVICE, else auto."""
    choice = (requested or os.environ.get("STUDIO_DEVICE") or "auto").strip().lower()
    if choice not in DEVICES:
        raise DeviceError(f"unknown device '{choice}' (choose {', '.join(DEVICES[:-1])} or {DEVICES[-1]})")
    return choice


def resolve_device(requested: str | None = None) -> str:
    """'cpu' or an accelerator's name: what a session will really run on. Auto
    takes the first usable accelerator, best first."""
    choice = requested_device(requested)
    if choice == "cpu":
        return "cpu"
    candidates = ACCELERATORS if choice == "auto" else (choice,)
    return next((name for name in candidates if accelerator_status(name).usable), "cpu")


def offered_devices() -> list[str]:
    """auto, cpu and the accelerators this onnxruntime build has a provider
    for (usable or not: choosing one says why it did not start)."""
    available = ort.get_available_providers()
    return ["auto", "cpu", *(name for name, (provider, _label) in ACCELERATORS.items() if provider in available)]


def unusable_accelerator_notice(requested: str) -> str | None:
    """Why a request for an accelerator ended on the CPU, when the user could
    have expected one: the one asked for, or under auto the best one this
    onnxruntime build offers. None when nothing was expected."""
    if requested == "cpu":
        return None
    names = ACCELERATORS if requested == "auto" else (requested,)
    offered = [n for n in names if requested != "auto" or ACCELERATORS[n][0] in ort.get_available_providers()]
    if not offered:
        return None
    return f"{offered[0].upper()} not usable ({accelerator_status(offered[0]).reason}); running on CPU"


def default_threads() -> int:
    """Intra-op threads: all cores but one, left for the UI and the trainer."""
    override = os.environ.get("STUDIO_THREADS")
    if override and override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, (os.cpu_count() or 2) - 1)


def _session_options(threads: int, optimise: bool = True) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4
    opts.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimise else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    return opts


class ModelSession:
    """A session on one device; `run` is safe to call from any thread."""

    def __init__(self, session: ort.InferenceSession, device: str, source: Path | bytes | None = None,
                 threads: int = 1):
        self._session = session
        self.device = device
        self.inputs = [_tensor_info(t) for t in session.get_inputs()]
        self.outputs = [_tensor_info(t) for t in session.get_outputs()]
        self._source = source
        self._threads = threads
        self._derived: dict[str, ModelSession] = {}
        self._derived_lock = threading.Lock()

    def model_bytes(self) -> bytes:
        """The ONNX this session was made from, for graph rewrites (engine/tiling.py)."""
        if isinstance(self._source, bytes):
            return self._source
        if self._source is None:
            raise ValueError("this session was not made from a model file")
        return Path(self._source).read_bytes()

    def derived(self, key: str, build: Callable[[], bytes]) -> ModelSession:
        """A session for a graph rewritten from this one (tiling's statistics,
        tile and segment graphs): `build` returns its ONNX bytes and runs once per
        key; the session runs on this session's device and threads. Not warmed
        up, because rewritten graphs may take inputs zeros cannot stand in for."""
        with self._derived_lock:
            cached = self._derived.get(key)
            if cached is None:
                cached = _open_session(build(), self.device, self._threads)
                self._derived[key] = cached
            return cached

    @property
    def providers(self) -> list[str]:
        return self._session.get_providers()

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Inputs and outputs are CPU numpy arrays; on CUDA, IO binding keeps the
        copies explicit and avoids onnxruntime's per-call allocations."""
        if self.device != "cuda":
            return self._session.run(None, feeds)
        binding = self._session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for out in self.outputs:
            binding.bind_output(out.name, "cuda")
        self._session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()

    def run_into(self, feeds: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
        """Like `run`, but each named output is written into the caller's
        C-contiguous CPU array of the right shape and dtype, so a caller running
        many tiles reuses its buffers instead of receiving fresh arrays."""
        binding = self._session.io_binding()
        for name, value in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(value))
        for name, array in outputs.items():
            binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(array))
        self._session.run_with_iobinding(binding)

    def warm_up(self) -> None:
        """One run on zeros, so the first real request does not pay for lazy
        allocation and kernel selection."""
        feeds = {}
        for t in self.inputs:
            # A dynamic leading axis is a batch (1); other dynamic axes are
            # image sides, which reflect padding needs to be more than 1 px.
            shape = [d if isinstance(d, int) and d > 0 else (1 if i == 0 else 32) for i, d in enumerate(t.shape)]
            feeds[t.name] = np.zeros(shape, dtype=t.dtype)
        self.run(feeds)


_shared_arena_lock = threading.Lock()
_shared_arena = False


def _share_cpu_arena(opts: ort.SessionOptions) -> None:
    """Make a session allocate from one process-wide CPU arena. Derived graphs
    come in dozens per model (tiling's segments): an arena each would hold every
    one's peak tile memory at once (3.6 GiB against 1.5 GiB measured), and no
    arena at all costs page faults on every run (1.4x slower)."""
    global _shared_arena
    with _shared_arena_lock:
        if not _shared_arena:
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
            _shared_arena = True
    opts.add_session_config_entry("session.use_env_allocators", "1")


def _accelerated_session(model: bytes, opts: ort.SessionOptions, device: str) -> ort.InferenceSession | None:
    """A session on accelerator `device` when its provider really came up for
    this model, else None (the caller falls back to the CPU)."""
    if device == "cpu":
        return None
    provider = ACCELERATORS[device][0]
    with _silenced_native_output():
        session = ort.InferenceSession(model, opts, providers=[provider, CPU])
    return session if provider in session.get_providers() else None


def _open_session(model: bytes, device: str, threads: int) -> ModelSession:
    opts = _session_options(threads)
    _share_cpu_arena(opts)
    session = _accelerated_session(model, opts, device)
    if session is not None:
        return ModelSession(session, device, model, threads)
    return ModelSession(ort.InferenceSession(model, opts, providers=[CPU]), "cpu", model, threads)


def probe_run(model: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """One run of a graph on a throwaway, unoptimised CPU session, for analysing
    a model (tiling reads every tensor's shape this way), not for inference."""
    session = ort.InferenceSession(model, _session_options(1, optimise=False), providers=[CPU])
    return session.run(None, feeds)


def _tensor_info(arg) -> TensorInfo:
    dtype = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64",
             "tensor(int32)": "int32", "tensor(uint8)": "uint8", "tensor(bool)": "bool"}.get(arg.type, arg.type)
    shape = tuple(d if isinstance(d, int) else str(d) for d in arg.shape)
    return TensorInfo(arg.name, shape, dtype)


class Runtime:
    """Owns sessions, cached per (model file, device)."""

    def __init__(self, device: str | None = None, threads: int | None = None, warm: bool = True):
        """warm: run each new session once on zeros before handing it out (the
        app's first slider move then pays nothing; a one-shot command, which
        runs its model once, passes False and saves that run)."""
        self.warm = warm
        self.requested = requested_device(device)
        self.device = resolve_device(self.requested)
        self.threads = threads or default_threads()
        self.notice = unusable_accelerator_notice(self.requested) if self.device == "cpu" else None
        self._sessions: dict[tuple[str, float, str], ModelSession] = {}
        self._lock = threading.Lock()

    @property
    def shown_notice(self) -> str | None:
        """The notice, when it is news: the user asked for that accelerator by
        name, or one that was found did not start. Under auto on a machine
        without one the CPU is the answer, not news, so a command and the
        app's status bar say nothing then."""
        if self.requested not in ("auto", "cpu") or self.device != "cpu":
            return self.notice
        return None

    def session(self, model_path: Path) -> ModelSession:
        """The session for this model file (created once, then cached; warmed up unless `warm` is off)."""
        path = Path(model_path).resolve()
        key = (str(path), path.stat().st_mtime, self.device)
        with self._lock:
            cached = self._sessions.get(key)
            if cached is None:
                cached = self._create(path)
                if self.warm:
                    cached.warm_up()
                self._sessions[key] = cached
            return cached

    def _create(self, path: Path) -> ModelSession:
        # The session runs the fused graph; model_bytes() stays the file's, for tiling.
        model = fused_graph(path)
        opts = _session_options(self.threads)
        session = _accelerated_session(model, opts, self.device)
        if session is not None:
            return ModelSession(session, self.device, path, self.threads)
        if self.device != "cpu":
            self.notice = f"{self.device.upper()} did not start for this model; running on CPU"
        session = ort.InferenceSession(model, opts, providers=[CPU])
        return ModelSession(session, "cpu", path, self.threads)


def inspect_model(model: Path | bytes) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """Input and output signature of an ONNX model, read through a cheap CPU
    session (no graph optimisation). Raises onnxruntime's errors for files that
    are not valid ONNX."""
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, _session_options(1, optimise=False), providers=[CPU])
    return [_tensor_info(t) for t in session.get_inputs()], [_tensor_info(t) for t in session.get_outputs()]


_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The process-wide runtime (device from STUDIO_DEVICE or auto)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default
