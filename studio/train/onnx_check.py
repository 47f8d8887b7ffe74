"""The exporter's check that onnxruntime reproduces torch: run an exported
file on the CPU and measure the largest difference. Used for generators and
inpaint models alike.

A plain CPU session on purpose: the trainer imports core only, never the
app's engine, and this file is still in its staging folder, not a model the
registry knows."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_onnx(onnx_path: Path, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
    """Output `output` of the model at `onnx_path` for `feeds` (float32 arrays)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return session.run([output], {k: np.ascontiguousarray(v, np.float32) for k, v in feeds.items()})[0]


def max_difference(expected: np.ndarray, actual: np.ndarray) -> float:
    """Largest absolute difference; inf when the shapes differ (fails any limit)."""
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(actual - expected)))
