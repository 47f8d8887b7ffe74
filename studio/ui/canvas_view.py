"""The canvas: shows one image, with pan and zoom as painting tools have them.

Space-drag or middle-drag pans, the wheel zooms around the cursor, Ctrl+0 fits
and Ctrl+1 shows 100 %. Above 100 % pixels are drawn nearest-neighbour, so a
64 px generator output stays crisp at 1000 %; a checkerboard sits under any
transparency.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from studio.ui.qimage import qimage_from_array
from studio.ui.theme import CANVAS, MUTED_TEXT

MIN_ZOOM = 1 / 32
MAX_ZOOM = 256.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch
FIT_MARGIN = 0.92  # leave a frame of background around a fitted image
CHECKER_PX = 8  # checkerboard square, in screen pixels (constant at any zoom)


def _checker_brush() -> QBrush:
    tile = QPixmap(CHECKER_PX * 2, CHECKER_PX * 2)
    tile.fill(QColor("#9a9a9a"))
    painter = QPainter(tile)
    dark = QColor("#6e6e6e")
    painter.fillRect(0, 0, CHECKER_PX, CHECKER_PX, dark)
    painter.fillRect(CHECKER_PX, CHECKER_PX, CHECKER_PX, CHECKER_PX, dark)
    painter.end()
    return QBrush(tile)


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)  # scale factor, 1.0 = 100 %

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        self._scene.addItem(self._item)
        self._image: np.ndarray | None = None
        self._checker = _checker_brush()
        self._fit_mode = True  # re-fit on resize until the user zooms by hand
        self._space_held = False
        self._pan_from: QPointF | None = None
        self.placeholder = "No image yet"

        self.setFrameShape(QFrame.NoFrame)
        self.setBackgroundBrush(CANVAS)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)

    # -- image -------------------------------------------------------------------------------

    def set_image(self, image: np.ndarray | None) -> None:
        """Show `image` (uint8 HxWx3 or HxWx4); the view keeps its zoom and pan
        unless the size changed, then it fits the new image."""
        size_changed = image is None or self._image is None or image.shape[:2] != self._image.shape[:2]
        self._image = None if image is None else np.array(image, dtype=np.uint8, copy=True)
        if image is None:
            self._item.setPixmap(QPixmap())
        else:
            self._item.setPixmap(QPixmap.fromImage(qimage_from_array(self._image)))
        self._update_scene_rect()
        if size_changed:
            self.fit()
        self.viewport().update()

    def image(self) -> np.ndarray | None:
        """The image shown now: uint8 HxWx3/4, or None."""
        return None if self._image is None else self._image.copy()

    def _update_scene_rect(self) -> None:
        # A margin far wider than the image lets the user pan it anywhere,
        # even to the edge of the window at high zoom.
        rect = self._item.boundingRect()
        margin = max(rect.width(), rect.height(), 64.0) * 8
        self.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))

    # -- zoom --------------------------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        """Scale 1.0 = one image pixel per screen pixel, clamped to 1/32..256.
        The scene point under `anchor` (viewport px; default the centre) stays put."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        at = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        # Anchored by hand: Qt's AnchorUnderMouse uses the last mouse *move*,
        # which is wrong for a wheel turned before the mouse moved.
        fixed = self.mapToScene(at.toPoint())
        self.setTransform(QTransform.fromScale(factor, factor))
        moved = self.mapFromScene(fixed) - at.toPoint()
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + moved.x())
        v.setValue(v.value() + moved.y())
        self._apply_sampling()
        self.zoomChanged.emit(factor)

    def zoom_by(self, step: float, anchor: QPointF | None = None) -> None:
        self._fit_mode = False
        self.set_zoom(self.zoom * step, anchor)

    def zoom_in(self) -> None:
        self.zoom_by(WHEEL_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / WHEEL_STEP)

    def actual_size(self) -> None:
        """100 %, centred."""
        self._fit_mode = False
        self.set_zoom(1.0)
        self.centerOn(self._item)

    def fit(self) -> None:
        """Fit the image in the window. Above 100 % the scale snaps to a whole
        number, so every image pixel covers the same number of screen pixels."""
        self._fit_mode = True
        rect = self._item.boundingRect()
        view = self.viewport().rect()
        if rect.isEmpty() or view.isEmpty():
            self.set_zoom(1.0)
            return
        scale = min(view.width() / rect.width(), view.height() / rect.height()) * FIT_MARGIN
        if scale > 1:
            scale = math.floor(scale)
        self.set_zoom(scale)
        self.centerOn(self._item)

    def _apply_sampling(self) -> None:
        smooth = self.zoom < 1.0  # minified: smooth to avoid aliasing; magnified: hard pixels
        self._item.setTransformationMode(Qt.SmoothTransformation if smooth else Qt.FastTransformation)
        self.setRenderHint(QPainter.SmoothPixmapTransform, smooth)

    # -- events ------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(WHEEL_STEP ** (delta / 120), event.position())
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_from is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_held):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels."""
        self._fit_mode = False
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(dx))
        v.setValue(v.value() - round(dy))

    # -- painting ----------------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.backgroundBrush())
        if self._image is None or self._image.ndim != 3 or self._image.shape[2] != 4:
            return  # opaque images hide it anyway; skipping avoids a rounding sliver at the edges
        # The checkerboard is laid out in screen pixels, so it does not grow
        # into huge squares when zoomed in.
        on_screen = self.mapFromScene(self._item.boundingRect()).boundingRect()
        painter.save()
        painter.resetTransform()
        painter.fillRect(on_screen, self._checker)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._image is not None or not self.placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(MUTED_TEXT)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
        painter.restore()
