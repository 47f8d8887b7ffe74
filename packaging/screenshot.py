"""Screenshot the app with a walk in progress, for docs and for looking at it.

    xvfb-run -s "-screen 0 1600x1000x24" python packaging/screenshot.py [--models DIR] [-o PNG]
    ... --image photo.jpg --panel inpaint --mask 300,200,420,330 [--fill]
    ... --image photo.jpg --dialog upscale      # the Image > Upscale dialog alone
    ... --image photo.jpg --dialog export       # the File > Export dialog alone
    ... --dialog shortcuts                      # Help > Keyboard Shortcuts alone (or getting-started)
    ... --image photo.jpg --panel style --style preview|applied   # the first style's preview, or its Apply
    ... --image broken.png                      # the message box a file the app cannot open gets (exit 2)

Uses the shipped models (or --models); when none is usable it builds the tiny
test generator in a temporary folder so there is always something to show,
and for --dialog the test upscaler when no upscale model is installed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _wait(app, condition, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


class _MessageBoxShot:
    """Watches for the app's modal message box (the app opens one inside a
    nested event loop, so the script cannot wait past it): saves the window
    with the box over it where the artist sees it, then closes the box."""

    def __init__(self, app, window, output: Path):
        from PySide6.QtCore import QTimer

        self.app, self.window, self.output, self.text = app, window, output, None
        self.timer = QTimer()
        self.timer.timeout.connect(self._look)
        self.timer.start(100)

    def _look(self) -> None:
        from PySide6.QtGui import QPainter

        box = self.app.activeModalWidget()
        if box is None:
            return
        self.timer.stop()
        _wait(self.app, lambda: False, 0.3)  # let the box paint
        shot = self.window.grab()
        painter = QPainter(shot)
        painter.drawPixmap(self.window.mapFromGlobal(box.geometry().topLeft()), box.grab())
        painter.end()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        shot.save(str(self.output))
        self.text = getattr(box, "text", lambda: box.windowTitle())()
        box.close()


def _open_dialog(app, window, which: str):
    """The dialog `which`, shown (not run): Help's two, or the Upscale or
    Export dialog of the open document with an upscale model to offer (the
    installed ones, else the test upscaler)."""
    if which in HELP_DIALOGS:
        dialog = HELP_DIALOGS[which](window)
        dialog.show()
        return dialog
    if not window.upscales.models:
        sys.path.insert(0, str(ROOT / "tests"))
        from upscale_factory import write_upscale_model

        folder = Path(tempfile.mkdtemp(prefix="studio-shot-")) / "models"
        write_upscale_model(folder, "test-x4")
        window.model_folders = [*window.model_folders, folder]
        window.registry = None
        window.scan_models()
        _wait(app, lambda: bool(window.upscales.models), 30)
    if which == "upscale":
        dialog = window.upscales.dialog()
    else:
        from studio.ui.export_dialog import ExportDialog

        dialog = ExportDialog(window.files.document, "picture", window, window.upscales.models)
        dialog.upscale_combo.setCurrentIndex(1)
    dialog.show()
    return dialog


def _shortcuts(window):
    from studio.ui.shortcuts_dialog import ShortcutsDialog

    return ShortcutsDialog(window)


def _getting_started(window):
    from studio.ui.getting_started import GettingStarted

    return GettingStarted(window)


HELP_DIALOGS = {"shortcuts": _shortcuts, "getting-started": _getting_started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="models folder (default: shipped models/ + user models)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "screenshots" / "latent-studio.png")
    parser.add_argument("--pictures", help="image files to add as keyframes first (Add Picture; the model needs "
                                           "an encoder), comma-separated")
    parser.add_argument("--keys", default="0,3,6", help="grid cells to add as keyframes")
    parser.add_argument("--position", type=float, default=0.3)
    parser.add_argument("--size", default="1440x900")
    parser.add_argument("--loop", action="store_true", help="tick the Loop box")
    parser.add_argument("--image", type=Path, help="open this image as the document first")
    parser.add_argument("--place", metavar="X0,Y0,X1,Y1",
                        help="select this rectangle of the document and place the walk's frame in it")
    parser.add_argument("--panel", choices=("latent", "style", "inpaint", "train"), default="latent",
                        help="the tab in front on the right")
    parser.add_argument("--task", choices=("generate", "upscale", "inpaint"),
                        help="with --panel train: the Train panel's task")
    parser.add_argument("--preset", choices=("quick", "evening", "overnight"),
                        help="with --panel train: the Train panel's preset")
    parser.add_argument("--mask", metavar="X0,Y0,X1,Y1", help="mask this rectangle of the document (red film)")
    parser.add_argument("--fill", action="store_true", help="then fill the mask with the Inpaint panel's choices")
    parser.add_argument("--method", help="the Inpaint panel's method first (auto, learned, telea, ns, patchmatch)")
    parser.add_argument("--style", choices=("preview", "applied"),
                        help="with --panel style: the first built-in style's live preview, or what Apply lands")
    parser.add_argument("--dialog", choices=("upscale", "export", *HELP_DIALOGS),
                        help="open this dialog over the window and save it alone (upscale and export need --image)")
    args = parser.parse_args()

    from studio.ui.app import create_application, create_window, display_problem

    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    app = create_application()
    folders = [args.models] if args.models else None
    window = create_window(None, folders)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    _wait(app, lambda: window.panel.model_combo.count() > 0 or window.registry is not None, 30)
    _wait(app, lambda: window.panel.model_combo.count() > 0, 2)
    if not window.panel.entries:
        sys.path.insert(0, str(ROOT / "tests"))
        from model_factory import write_model

        tiny = Path(tempfile.mkdtemp(prefix="studio-shot-")) / "models"
        write_model(tiny, "tiny")
        window.model_folders = [tiny]
        window.registry = None
        window.scan_models()
        _wait(app, lambda: bool(window.panel.entries), 30)
    if not _wait(app, window.panel.grid.ready, 60):
        print("error: thumbnails did not render", file=sys.stderr)
        return 1
    if args.image:
        # As File > Open does it: a file the app cannot open gets its message box, and that is the shot.
        boxes = _MessageBoxShot(app, window, args.output)
        task, outcome = window.open_file(args.image), []
        task.succeeded.connect(outcome.append)  # after the window's own slots: the picture is shown,
        task.failed.connect(outcome.append)  # or its box was (the task object is gone soon after)
        _wait(app, lambda: bool(outcome), 120)
        boxes.timer.stop()
        if boxes.text is not None:
            print(f"wrote {args.output}: the app said \"{boxes.text}\"")
            window.close()
            return 2
    if args.pictures:
        window.pictures.add_files(args.pictures.split(","))
        _wait(app, lambda: not window.pictures.busy(), 30)
    cells = [int(c) for c in args.keys.split(",") if c.strip()]
    for cell in cells:
        window.panel.grid.buttons[cell].click()
    window.panel.loop_check.setChecked(args.loop)
    if cells:
        window.panel.set_position(args.position)
        _wait(app, lambda: window.worker.is_idle() and window.panel.last_frame is not None, 30)
    if args.place and window.files.document is not None:
        from studio.core import mask as mask_ops
        from studio.core.commands import SetMask

        doc = window.files.document
        rect = tuple(int(v) for v in args.place.split(","))
        doc.apply(SetMask(mask_ops.feather(mask_ops.rectangle(doc.width, doc.height, rect), 6)))
        window.actions_.place_action.trigger()
        window.actions_.deselect_action.trigger()  # the red selection film would tint the result
    getattr(window, {"latent": "dock", "style": "style_dock", "inpaint": "inpaint_dock",
                     "train": "train_dock"}[args.panel]).raise_()
    if args.task:
        window.train_panel.set_task(args.task)
    if args.preset:
        presets = window.train_panel.preset_combo
        presets.setCurrentIndex(presets.findData(args.preset))  # as picking it does: its hint and settings
    if args.mask and window.files.document is not None:
        from studio.core import mask as mask_ops
        from studio.core.commands import SetMask

        doc = window.files.document
        rect = tuple(int(v) for v in args.mask.split(","))
        doc.apply(SetMask(mask_ops.rectangle(doc.width, doc.height, rect), "Mask"))
        if args.method:
            window.inpaint_panel.set_method(args.method)
        if args.fill:
            window.inpaint_panel.fill()
            _wait(app, lambda: not window.inpaint_panel.busy(), 30)
    if args.style and window.files.document is not None:
        styles = window.style_panel
        _wait(app, lambda: bool(styles.picker.names), 60)  # the thumbnails and names, as the artist sees them first
        styles.preview_check.setChecked(False)
        styles.preview_check.setChecked(True)  # as the artist ticks Live preview: it renders now
        _wait(app, lambda: styles.last_preview is not None, 60)
        if args.style == "applied":
            layers = len(window.files.document.layers)
            styles.apply()
            _wait(app, lambda: len(window.files.document.layers) > layers and not styles.busy(), 120)
            styles.hide_preview()
    shown = window
    if args.dialog in HELP_DIALOGS or (args.dialog and window.files.document is not None):
        shown = _open_dialog(app, window, args.dialog)
    _wait(app, lambda: False, 0.5)  # let the last paint land
    args.output.parent.mkdir(parents=True, exist_ok=True)
    shown.grab().save(str(args.output))
    if shown is not window:
        shown.close()
    print(f"wrote {args.output}")
    if window.files.document is not None:
        window.files.document.mark_saved()  # closing must not stop at "Save the changes?"
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
