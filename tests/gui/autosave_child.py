"""A stand-in for a running Latent Studio that tests/gui/test_autosave.py kills
with SIGKILL: a real Autosaver on a document that is edited every EDIT_MS.

Run as a script (STUDIO_USER_DIR picks the autosave folder):
    python autosave_child.py INTERVAL_S [RESUME_EDIT]
With RESUME_EDIT it first recovers the one orphan (the state after that many
edits) the way the app does at start-up, and carries on editing from there.
Prints "ready SESSION", "edit K" after each edit and "saved K" when the slot
holds the state after edit K. The test imports base_document / edit to
rebuild every state the child can have been in.
"""

from __future__ import annotations

import sys

import numpy as np

from studio.core.commands import PixelEdit
from studio.core.document import Document, Layer

W, H = 512, 512  # noise this size takes tens of ms to encode: a window to kill in
EDIT_MS = 20


def base_document() -> Document:
    """Two layers (noise under a half-transparent one), empty mask: edit 0."""
    noise = np.random.default_rng(1234).integers(0, 256, (H, W, 4), dtype=np.uint8)
    top = np.zeros((H, W, 4), np.uint8)
    top[:, : W // 2] = (200, 30, 60, 128)
    return Document.from_layers(W, H, [Layer(1, "Noise", noise), Layer(2, "Top", top, opacity=0.75)])


def edit(doc: Document, k: int) -> None:
    """Edit number k (1, 2, ...): a rect of one layer, or of the mask, gets
    values that depend on k only."""
    rng = np.random.default_rng(k)
    x0, y0 = (int(v) for v in rng.integers(0, 448, 2))
    w, h = (int(v) for v in rng.integers(8, 64, 2))
    rect = (x0, y0, x0 + w, y0 + h)
    if k % 5 == 0:
        target, before = "mask", doc.mask[y0:y0 + h, x0:x0 + w].copy()
        after = np.full((h, w), int(rng.integers(1, 256)), np.uint8)
    else:
        layer = doc.layers[k % 2]
        target, before = layer.id, layer.pixels[y0:y0 + h, x0:x0 + w].copy()
        after = np.empty((h, w, 4), np.uint8)
        after[:] = rng.integers(0, 256, 4, dtype=np.uint8)
    doc.apply(PixelEdit(target, rect, before, after, f"Edit {k}"))


def main(argv: list[str]) -> None:
    from PySide6.QtCore import QCoreApplication, QTimer

    from studio.core import recovery
    from studio.ui.autosave import Autosaver

    interval = float(argv[0])
    app = QCoreApplication([])
    if len(argv) > 1:
        k = int(argv[1])
        orphans = recovery.find_orphans()
        if len(orphans) != 1:
            sys.exit(f"expected one orphan, found {len(orphans)}")
        session_id = recovery.new_session_id()
        doc = recovery.recover(orphans[0], adopt_as=session_id)
        saver = Autosaver(doc, session_id=session_id, interval=interval, title=orphans[0].title, unsaved=True)
    else:
        k = 0
        doc = base_document()
        saver = Autosaver(doc, interval=interval, title="Child")
    edit_at = {doc.revision: k}

    def saved(_text: str) -> None:
        print(f"saved {edit_at[saver.written_revision]}", flush=True)

    def step() -> None:
        nonlocal k
        k += 1
        edit(doc, k)
        edit_at[doc.revision] = k
        print(f"edit {k}", flush=True)

    saver.saved.connect(saved)
    saver.failed.connect(lambda message: print(f"failed {message}", flush=True))
    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(EDIT_MS)
    print(f"ready {saver.session_id}", flush=True)
    app.exec()


if __name__ == "__main__":
    main(sys.argv[1:])
