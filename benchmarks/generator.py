"""Generator speed: our onnxruntime path vs the same network in torch eager.

Both run in this one process on the same weights (the shipped checkpoint's EMA
generator) and the same thread count, so the ratio is what the runtime layer
buys. Also times one live interpolation frame as the Latent panel makes it:
slerp -> render -> QImage -> pixmap scaled for the canvas.

    python benchmarks/generator.py [--model emoji64] [--threads N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

from studio.core.latent import latent_from_seed, path_point  # noqa: E402
from studio.engine.generator import Generator  # noqa: E402
from studio.engine.registry import Registry  # noqa: E402
from studio.engine.runtime import Runtime, default_threads  # noqa: E402
from studio.train.nets import Generator as TorchGenerator  # noqa: E402


def timed(fn, repeats: int) -> float:
    """Median wall time of fn() in milliseconds, after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def torch_generator(entry) -> TorchGenerator:
    path = entry.file("checkpoint")
    if path is None:
        sys.exit(f"error: {entry.name} ships no checkpoint.safetensors to build the torch twin from")
    with safe_open(str(path), "pt") as f:
        config = json.loads(f.metadata()["info"])["config"]
        state = {k[len("G_ema."):]: f.get_tensor(k) for k in f.keys() if k.startswith("G_ema.")}
    net = TorchGenerator(config["latent_size"], config["resolution"], config["width"]).eval()
    net.load_state_dict(state)
    return net


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="emoji64")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    entry = Registry().get(args.model, kind="generator")
    runtime = Runtime("cpu", threads=args.threads)
    ours = Generator(entry, runtime)
    torch.set_num_threads(args.threads)
    twin = torch_generator(entry)

    rows = []
    for batch in (1, 16):
        z = np.stack([latent_from_seed(s, ours.latent_size) for s in range(batch)])
        zt = torch.from_numpy(z)
        with torch.inference_mode():
            t_torch = timed(lambda: twin(zt), args.repeats)
        t_ort = timed(lambda: ours.render(z), args.repeats)
        rows.append((batch, t_torch, t_ort))

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from studio.ui.qimage import pixmap_from_array

    app = QApplication.instance() or QApplication([])  # noqa: F841 (pixmaps need one)
    keys = [latent_from_seed(s, ours.latent_size) for s in (3, 14, 15)]
    positions = iter(np.linspace(0, 1, 10_000))

    def live_frame():
        z = path_point(keys, next(positions), "slerp")
        pixmap_from_array(ours.render(z)[0], 512).scaled(768, 768, Qt.KeepAspectRatio, Qt.FastTransformation)

    t_frame = timed(live_frame, args.repeats)

    print(f"model {entry.name} ({ours.resolution}px, latent {ours.latent_size}), CPU, {args.threads} thread(s), "
          f"median of {args.repeats}; torch {torch.__version__}")
    print(f"{'batch':>5} | {'torch eager ms':>14} | {'onnxruntime ms':>14} | {'img/s ort':>9} | {'speed-up':>8}")
    print("-" * 63)
    for batch, t_torch, t_ort in rows:
        print(f"{batch:>5} | {t_torch:>14.2f} | {t_ort:>14.2f} | {batch * 1000 / t_ort:>9.0f} | {t_torch / t_ort:>7.2f}x")
    print(f"live interpolation frame (slerp + render + pixmap for the canvas): {t_frame:.2f} ms "
          f"({1000 / t_frame:.0f} fps; budget 33 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
