"""How the canvas keeps up on a 4096 x 4096 document: repaint while panning
and zooming, a brush dab from pointer event to pixels on screen, and the
layer composite against Pillow's alpha_composite (the peer, same run, same
layers, normal blend) in full and after a small edit.

    QT_QPA_PLATFORM=offscreen python benchmarks/canvas.py [--size 4096] [--repeats 20]

The view is painted with the raster engine, as on a desktop without GPU
compositing; a frame budget of 16.7 ms is 60 Hz.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def layers(size: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    photo = np.empty((size, size, 4), np.uint8)
    photo[..., 0], photo[..., 1], photo[..., 2], photo[..., 3] = x * 255, y * 255, 128, 255
    paint = np.zeros((size, size, 4), np.uint8)
    paint[size // 4: size * 3 // 4, size // 4: size * 3 // 4] = (200, 40, 40, 160)
    noise = rng.integers(0, 256, (size, size, 4), dtype=np.uint8)
    noise[..., 3] = 90
    return [photo, paint, noise]


def timed(fn, repeats: int) -> float:
    """Median ms of `repeats` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from studio.core.brush import Stroke
    from studio.core.commands import PixelEdit
    from studio.core.document import Document
    from studio.ui.canvas_view import CanvasView

    app = QApplication.instance() or QApplication([])
    pixels = layers(args.size)
    doc = Document(args.size, args.size)
    from studio.core.commands import AddLayer
    for i, p in enumerate(pixels):
        doc.apply(AddLayer(doc.new_layer(f"layer {i}", p.copy())))

    rows = []
    full_ours = timed(lambda: (doc.invalidate(None), doc.composite(copy=False)), 3)
    pil_layers = [Image.fromarray(p, "RGBA") for p in pixels]

    def pil_full():
        out = pil_layers[0]
        for layer in pil_layers[1:]:
            out = Image.alpha_composite(out, layer)
        return out

    full_pil = timed(pil_full, 3)
    rows.append(("composite, whole canvas", full_ours, full_pil))

    def small_edit():
        doc.invalidate((1000, 1000, 1064, 1064))
        doc.composite((1000, 1000, 1064, 1064), copy=False)

    def pil_small():  # Pillow has no cache: the same patch composited from the layers' crops
        box = (1000, 1000, 1064, 1064)
        out = pil_layers[0].crop(box)
        for layer in pil_layers[1:]:
            out = Image.alpha_composite(out, layer.crop(box))

    rows.append(("composite after a 64 px edit", timed(small_edit, args.repeats), timed(pil_small, args.repeats)))

    view = CanvasView()
    view.resize(1400, 900)
    view.show()
    view.set_document(doc)
    app.processEvents()
    screen = []

    def repaint():
        view.viewport().repaint()

    for label, setup in (("repaint, fitted (zoomed out)", view.fit), ("repaint, 100 %", view.actual_size),
                         ("repaint, 800 %", lambda: view.set_zoom(8.0))):
        setup()
        app.processEvents()
        screen.append((label, timed(repaint, args.repeats)))

    view.fit()

    def pan():
        view.pan_by(37, 23)
        view.viewport().repaint()

    screen.append(("pan step + repaint, fitted", timed(pan, args.repeats)))
    layer = doc.layers[1]
    stroke = Stroke(layer.pixels, "paint", size=40, hardness=0.8, colour=(10, 10, 10))
    points = iter([(1500 + 3 * i, 1500 + (i % 50)) for i in range(10_000)])

    def dab():
        x, y = next(points)
        dirty = stroke.add(x, y, 1.0)
        if dirty is not None:
            doc.touch(dirty)  # what the brush tool does: the view patches its pixmap from the cache
        view.viewport().repaint()

    screen.append(("brush dab to screen (size 40), fitted", timed(dab, args.repeats * 5)))
    rect, before, after = stroke.finish()
    doc.apply(PixelEdit(layer.id, rect, before, after))
    view.close()

    print(f"canvas {args.size} x {args.size}, 3 layers, view 1400 x 900, {os.cpu_count()} cores\n")
    print("| work | ours ms | Pillow ms | speed-up |")
    print("|---|---|---|---|")
    for label, ours, peer in rows:
        print(f"| {label} | {ours:.1f} | {peer:.1f} | {peer / ours:.2f}x |")
    print("\n| view | ms per frame | frames in a 60 Hz budget |")
    print("|---|---|---|")
    for label, ms in screen:
        print(f"| {label} | {ms:.1f} | {16.7 / ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
