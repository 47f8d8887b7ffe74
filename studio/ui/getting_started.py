"""Help > Getting Started: one short illustrated page for a first session,
from an empty window to a trained model of one's own."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from studio.core.paths import assets_dir

SCREENSHOT = "screenshots/canvas.png"

PAGE = """
<h2>Getting started</h2>
<p><img src="{screenshot}" width="560"></p>
<ol>
<li><b>Explore.</b> In the <i>Latent</i> panel, pick a generator and click a few samples: each becomes a
keyframe. Drag <i>Position</i> to walk between them, or press <b>P</b> to play the walk. The
<i>Directions</i> sliders move it along the ways the model's pictures vary most.</li>
<li><b>Bring your own pictures.</b> A model trained with an encoder takes your pictures in: <i>Add
Picture</i> (a file, a layer, the selection or the clipboard), or drop files on the keyframes.</li>
<li><b>Paint.</b> Open a picture (<b>Ctrl+O</b> or drop it), paint with the brush (<b>B</b>; <b>E</b> toggles
the eraser, <b>[</b> and <b>]</b> size), select with the mask brush (<b>M</b>), the rectangle or the lasso.
<b>Ctrl+Enter</b> places the walk's frame as a layer; hold <b>Tab</b> to compare without it.</li>
<li><b>Restyle, repair, enlarge.</b> The <i>Style</i> panel restyles the picture, a layer or the
selection; the <i>Inpaint</i> panel fills what you mask (<b>Ctrl+Shift+F</b>); <i>Image &gt; Upscale</i>
enlarges to print size.</li>
<li><b>Train your own.</b> In the <i>Train</i> panel, choose a folder of your pictures and a preset, and
press Start. Samples appear within a minute; the model lands in the Latent panel when the run ends.</li>
<li><b>Keep it.</b> <i>File &gt; Export</i> writes the picture with its recipe (reopening it brings the
walk back); <b>Ctrl+S</b> saves a project with its layers, the walk and the style settings.</li>
</ol>
<p><b>F1</b> lists every shortcut.</p>
"""


class GettingStarted(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Getting Started")
        self.resize(640, 720)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        screenshot = assets_dir() / SCREENSHOT
        self.browser.setHtml(PAGE.format(screenshot=QUrl.fromLocalFile(str(screenshot)).toString()
                                         if screenshot.is_file() else ""))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
