"""How close a picture is to another: the one PSNR the app, the CLI, the
projection refiner and the benchmarks report for reconstructions."""

from __future__ import annotations

import numpy as np

CAP_DB = 100.0  # identical pictures


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 pictures of one shape, over all channels (at most CAP_DB)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return CAP_DB if mse == 0 else min(CAP_DB, 10.0 * float(np.log10(255.0 ** 2 / mse)))
