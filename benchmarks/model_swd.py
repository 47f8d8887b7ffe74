"""Quality of exported generators: SWD and diversity against held-out images.

Same protocol as the trainer's metrics (studio.train.metrics): the folder's
held-out split, as many generated images (seeds 10000..), and a real-vs-real
floor from a random training subset of the same size.

    python benchmarks/model_swd.py --data data/emoji --fit pad models/emoji64/model.onnx [OTHER.onnx ...]
"""

from __future__ import annotations

import argparse

import numpy as np
import onnxruntime as ort
import torch

from studio.core.latent import latent_from_seed
from studio.train.data import load_dataset
from studio.train.metrics import diversity, swd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model.onnx files (latent [N,128] -> image [N,3,R,R])")
    parser.add_argument("--data", required=True)
    parser.add_argument("--fit", choices=["crop", "pad"], default="crop")
    parser.add_argument("--resolution", type=int, default=64)
    args = parser.parse_args()

    data = load_dataset(args.data, args.resolution, fit=args.fit)
    held = torch.as_tensor(data.held_out)
    n = held.shape[0]
    subset = np.random.default_rng(0).choice(len(data.train), n, replace=False)
    print(f"{n} held-out images at {args.resolution} px; SWD x1000 (lower is better)")
    print(f"{'images':<40} | {'SWD':>6} | {'diversity':>9}")
    print(f"{'real training subset (the floor)':<40} | {swd(torch.as_tensor(data.train[subset]), held)['swd']:>6.1f} | "
          f"{diversity(held):>9.3f}")
    for path in args.models:
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        latents = np.stack([latent_from_seed(10_000 + i, 128) for i in range(n)])
        fake = torch.from_numpy(session.run(None, {"latent": latents})[0])
        print(f"{path:<40} | {swd(fake, held)['swd']:>6.1f} | {diversity(fake):>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
