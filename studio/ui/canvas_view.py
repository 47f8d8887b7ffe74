"""The canvas: shows the document (or, before there is one, the latent
walk's frame), with pan and zoom as painting tools have them, and hands
pointer input to the active tool.

Space-drag or middle-drag pans, Ctrl+wheel zooms around the cursor (the wheel
alone scrolls, Shift+wheel sideways), Ctrl+0 fits and Ctrl+1 shows 100 %.
Above 100 % pixels are drawn nearest-neighbour, so a 64 px generator output
stays crisp at 1000 %; a checkerboard sits under any transparency.

The document is drawn from one pixmap the size of the canvas that is
patched where the document says it changed (only the touched tiles are
composited again), so a stroke on a 4096 px canvas redraws a few hundred
pixels, not 16 million. A change bigger than IMMEDIATE_PX (a new layer over
a 4096 px picture: up to seconds of blending) is patched a tile at a time,
DRAW_BUDGET_S per turn of the event loop, so the window answers meanwhile
(benchmarks/responsiveness.py). The selection mask shows as a translucent
red film.
A walk frame over an open document floats above it as a preview until it is
placed (the window decides where).
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from studio.core.document import Document
from studio.core.placement import contain_rect
from studio.core.rect import Rect, clip, intersect, is_empty, offset, size, slices, tile_rect, tiles
from studio.core.tilecache import TILE
from studio.ui.qimage import qimage_from_array
from studio.ui.theme import current

MIN_ZOOM = 1 / 32
MAX_ZOOM = 256.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch
FIT_MARGIN = 0.92  # leave a frame of background around a fitted image
CHECKER_PX = 8  # checkerboard square, in screen pixels (constant at any zoom)
MASK_RGB = (235, 60, 60)  # the selection film: red, as Krita's and Photoshop's quick masks
MASK_ALPHA = 0.45  # film opacity over fully selected pixels
WHEEL_SCROLL_PX = 60  # screen px per wheel notch when the wheel scrolls
# A change up to this many px (a dab, a small picture) is drawn at once;
# a bigger one tile by tile, for at most DRAW_BUDGET_S per event-loop turn
# (one more tile may overrun it: 256 px of a few blended layers is ~10 ms).
IMMEDIATE_PX = 512 * 512
DRAW_BUDGET_S = 0.008
_TABLET_EVENTS = {QEvent.TabletPress: "press", QEvent.TabletMove: "move", QEvent.TabletRelease: "release"}


def _checker_brush() -> QBrush:
    tile = QPixmap(CHECKER_PX * 2, CHECKER_PX * 2)
    tile.fill(QColor("#9a9a9a"))
    painter = QPainter(tile)
    dark = QColor("#6e6e6e")
    painter.fillRect(0, 0, CHECKER_PX, CHECKER_PX, dark)
    painter.fillRect(CHECKER_PX, CHECKER_PX, CHECKER_PX, CHECKER_PX, dark)
    painter.end()
    return QBrush(tile)


class _BufferItem(QGraphicsItem):
    """A picture the canvas patches in place. It owns its QImage alone, so
    painting a dab into it never copies it (a QPixmap shared with a
    QGraphicsPixmapItem is copied whole, 64 MB at 4096 px, on every patch),
    and it draws only the part of itself that is exposed."""

    def __init__(self):
        super().__init__()
        self._image = QImage()
        self._pixels: np.ndarray | None = None  # the memory self._image draws into, when it is ours
        self.smooth = False
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)  # exposedRect is the part to draw
        # Drawn once at the view's scale and then copied: each walk frame floating
        # above repaints the whole viewport, and scaling a 4096 px picture and its
        # mask down again for each one took 6-10 ms of the GUI thread (2-3 ms
        # from the cache; Qt keeps only the visible part of an item larger than
        # the screen). update() redraws the cache where the picture changed.
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)

    def reset(self, width: int, height: int, image: QImage | None = None) -> None:
        """A new transparent width x height buffer (or `image`)."""
        self.prepareGeometryChange()
        self._pixels = None
        if image is None:
            # Zeroed memory from the OS (transparent in RGBA) costs nothing until
            # a page is written, where QImage.fill would write all of it now on
            # the GUI thread (25 ms at 4096 px, for the picture and its mask).
            self._pixels = np.zeros((height, width, 4), np.uint8)
            image = QImage(self._pixels.data, width, height, 4 * width, QImage.Format_RGBA8888)
        self._image = image
        self.update()  # a same-sized picture must not be shown from the old one's cache

    def patch(self, pixels: np.ndarray, x: int, y: int) -> None:
        """Replace the pixels at (x, y) with `pixels` (uint8 hxwx4, straight alpha)."""
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode_Source)  # replace, do not blend over the old
        painter.drawImage(x, y, qimage_from_array(pixels))
        painter.end()
        self.update(QRectF(x, y, pixels.shape[1], pixels.shape[0]))

    def clear(self, rect: Rect) -> None:
        """Make `rect` transparent."""
        x0, y0, x1, y1 = rect
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode_Source)
        painter.fillRect(x0, y0, x1 - x0, y1 - y0, Qt.transparent)
        painter.end()
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def size(self) -> tuple[int, int]:
        return (self._image.width(), self._image.height())

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image.isNull():
            return
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.smooth)
        # A little more than the exposed part, by two screen pixels: where the
        # view is zoomed out, the exposed edge falls inside a screen pixel, and
        # drawing only up to it left that pixel part-covered, a seam in the cache.
        margin = math.ceil(2.0 / max(abs(painter.worldTransform().m11()), MIN_ZOOM))
        exposed = option.exposedRect.adjusted(-margin, -margin, margin, margin)
        exposed = exposed.intersected(self.boundingRect()).toAlignedRect()
        painter.drawImage(exposed, self._image, exposed)


def mask_film(mask: np.ndarray) -> np.ndarray:
    """uint8 HxW selection -> uint8 HxWx4 straight-alpha red film."""
    film = np.empty(mask.shape + (4,), np.uint8)
    film[..., :3] = MASK_RGB
    film[..., 3] = (mask.astype(np.uint16) * round(MASK_ALPHA * 256) >> 8).astype(np.uint8)
    return film


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)  # scale factor, 1.0 = 100 %
    pointerMoved = Signal(object)  # (x, y) document px under the pointer, or None off the canvas
    # A tool's press..release ended (the tool; its command, if any, is applied
    # by now). Not sent for a stroke abandoned with Escape or a tool switch.
    strokeFinished = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = _BufferItem()  # the document, or the lone walk frame
        self._scene.addItem(self._item)
        self._mask_item = _BufferItem()
        self._mask_item.setZValue(1)
        self._scene.addItem(self._mask_item)
        self._preview_item = QGraphicsPixmapItem()  # a walk frame floating over the document
        self._preview_item.setZValue(2)
        self._scene.addItem(self._preview_item)
        self.document: Document | None = None
        self._preview: np.ndarray | None = None
        self._compare_without: int | None = None  # layer left out while Tab is held
        self._compare_patch: tuple[np.ndarray, Rect] | None = None  # "before" pixels shown while Tab is held
        self._has_alpha = False
        self._pending: dict[tuple[int, int], Rect] = {}  # tiles of a big change not drawn yet, in order
        self._drawer = QTimer(self)  # draws them, a few per turn of the event loop
        self._drawer.setInterval(0)
        self._drawer.timeout.connect(self._draw_pending)
        self._checker = _checker_brush()
        self._fit_mode = True  # re-fit on resize until the user zooms by hand
        self._space_held = False
        self._pan_from: QPointF | None = None
        self._pointer: QPointF | None = None  # scene position of the pointer, for the brush outline
        self.tool = None  # studio.ui.canvas_tools.Tool, or None: pan only
        self._tool_down = False
        self.placeholder = "No image yet"

        self.setFrameShape(QFrame.NoFrame)
        self.setBackgroundBrush(current().canvas)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.FullViewportUpdate)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setAttribute(Qt.WA_TabletTracking)

    # -- what is shown -----------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        """Show `document` and follow its changes. Fits the view when the
        canvas size differs from what was shown."""
        if self.document is not None:
            self.document.listeners.remove(self._document_changed)
        old_size = self._shown_size()
        self.document = document
        self._compare_without = None
        self._compare_patch = None
        if document is not None:
            document.listeners.append(self._document_changed)
        self._rebuild()
        if self._shown_size() != old_size:
            self.fit()

    def set_preview(self, image: np.ndarray | None, rect: Rect | None = None) -> None:
        """A walk frame (uint8 HxWx3/4) to show: alone when there is no document,
        else floating over the document, fitted inside `rect` (document px;
        None = the whole canvas). None hides it."""
        old_size = self._shown_size()
        self._preview = None if image is None else np.array(image, dtype=np.uint8, copy=True)
        if self.document is None:
            self._rebuild()
            if self._shown_size() != old_size:
                self.fit()
        else:
            self.place_preview(rect)
        self.viewport().update()

    def has_preview(self) -> bool:
        return self._preview is not None

    def image(self) -> np.ndarray | None:
        """What the view shows on top: the walk frame when one is shown, else
        the document's composite (uint8 HxWx4; without the compared layer
        while Tab is held), else None."""
        if self._preview is not None and self._preview_item.isVisible():
            return self._preview.copy()
        if self.document is None:
            return None
        if self._compare_without is not None:
            return self.document.composite_without(self._compare_without)
        shown = self.document.composite()
        if self._compare_patch is not None:
            pixels, rect = self._compare_patch
            shown[rect[1]:rect[3], rect[0]:rect[2]] = pixels
        return shown

    def compare_without(self, layer_id: int | None) -> None:
        """Show the document without one layer (hold Tab to see the image
        without the last AI result); None shows everything again."""
        if layer_id == self._compare_without:
            return
        self._compare_without = layer_id
        self._preview_item.setVisible(layer_id is None and self._compare_patch is None)
        self.refresh(None)

    def compare_with(self, pixels: np.ndarray | None, rect: Rect | None = None) -> None:
        """Show `pixels` (uint8 hxwx4, straight alpha) over `rect` of the
        document in place of what is there (hold Tab to see the image before
        an AI edit of a layer's own pixels); None shows the document again."""
        doc = self.document
        old = self._compare_patch
        if pixels is None or doc is None or rect is None:
            self._compare_patch = None
        else:
            rect = tuple(int(v) for v in rect)
            if clip(rect, doc.width, doc.height) != rect or pixels.shape[:2] != (rect[3] - rect[1], rect[2] - rect[0]):
                raise ValueError(f"compare pixels {pixels.shape[1]} x {pixels.shape[0]} px do not fit rect {rect} "
                                 f"of the {doc.width} x {doc.height} canvas")
            self._compare_patch = (np.array(pixels, dtype=np.uint8, copy=True), rect)
        self._preview_item.setVisible(self._compare_patch is None and self._compare_without is None)
        for shown in (old, self._compare_patch):
            if shown is not None:
                self.refresh(shown[1])

    def is_drawing(self) -> bool:
        """True between a tool's press and its release (a stroke in progress)."""
        return self._tool_down

    def _shown_size(self) -> tuple[int, int] | None:
        if self.document is not None:
            return (self.document.width, self.document.height)
        if self._preview is not None:
            return (self._preview.shape[1], self._preview.shape[0])
        return None

    def _rebuild(self) -> None:
        doc = self.document
        self._pending.clear()  # tiles of the picture shown before
        self._drawer.stop()
        if doc is not None:
            self._item.reset(doc.width, doc.height)
            self._mask_item.reset(doc.width, doc.height)
            self.refresh(None)
            self.place_preview(None)
        else:
            self._mask_item.reset(0, 0, QImage())
            self._preview_item.setPixmap(QPixmap())
            frame = self._preview
            self._item.reset(0, 0, QImage() if frame is None else qimage_from_array(frame))
            self._has_alpha = frame is not None and frame.ndim == 3 and frame.shape[2] == 4
        self._update_scene_rect()
        self.viewport().update()

    def place_preview(self, rect: Rect | None) -> None:
        """Float the frame where Place puts it: fitted inside `rect` of the
        document (None = all of it), centred, its aspect kept (core.placement)."""
        frame, doc = self._preview, self.document
        if frame is None or doc is None:
            self._preview_item.setPixmap(QPixmap())
            return
        x0, y0, x1, y1 = contain_rect(frame.shape[1], frame.shape[0], rect if rect is not None else doc.rect)
        self._preview_item.setPixmap(QPixmap.fromImage(qimage_from_array(frame)))
        self._preview_item.setTransform(QTransform.fromScale((x1 - x0) / frame.shape[1], (y1 - y0) / frame.shape[0]))
        self._preview_item.setPos(x0, y0)
        self._preview_item.setTransformationMode(Qt.SmoothTransformation)

    def _document_changed(self, rect: Rect | None) -> None:
        doc = self.document
        if doc is None:
            return
        if self._item.size() != (doc.width, doc.height):
            self.set_document(doc)  # the canvas was cropped or resized: new buffers, new fit
            return
        self.refresh(rect)

    def refresh(self, rect: Rect | None) -> None:
        """Redraw `rect` of the document (None = all) from its composite and
        mask: at once up to IMMEDIATE_PX, else a tile at a time from the
        event loop (is_drawing_behind() until done)."""
        doc = self.document
        if doc is None:
            return
        rect = doc.rect if rect is None else clip(rect, doc.width, doc.height)
        if is_empty(rect):
            return
        w, h = size(rect)
        if w * h <= IMMEDIATE_PX:
            self._draw(rect)
            return
        if rect == doc.rect:
            self._has_alpha = False  # looked for again as the tiles are drawn
        for tx, ty in tiles(rect, TILE):
            self._pending[(tx, ty)] = tile_rect(tx, ty, doc.width, doc.height, TILE)
        self._drawer.start()

    def is_drawing_behind(self) -> bool:
        """True while tiles of a big change wait to be drawn."""
        return bool(self._pending)

    def _draw_pending(self) -> None:
        end = time.perf_counter() + DRAW_BUDGET_S
        while self._pending:  # at least one tile per turn
            self._draw(self._pending.pop(next(iter(self._pending))))
            if time.perf_counter() >= end:
                break
        if not self._pending:
            self._drawer.stop()

    def _draw(self, rect: Rect) -> None:
        """Patch `rect` (clipped, not empty) from the composite and mask now."""
        doc = self.document
        x0, y0 = rect[0], rect[1]
        pixels = (doc.composite(rect) if self._compare_without is None
                  else doc.composite_without(self._compare_without, rect))
        self._item.patch(pixels, x0, y0)
        if self._compare_patch is not None:  # Tab is held: the "before" pixels stay on top
            before, where = self._compare_patch
            overlap = intersect(rect, where)
            if overlap is not None:
                self._item.patch(before[slices(offset(overlap, -where[0], -where[1]))], overlap[0], overlap[1])
        mask = doc.mask[slices(rect)]
        if mask.any():
            self._mask_item.patch(mask_film(mask), x0, y0)
        else:  # nothing selected here: no film to build
            self._mask_item.clear(rect)
        if rect == doc.rect:
            self._has_alpha = bool((pixels[..., 3] < 255).any())
        elif not self._has_alpha:
            self._has_alpha = bool((pixels[..., 3] < 255).any())
        self.viewport().update()

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
        self._item.smooth = self._mask_item.smooth = smooth
        self.setRenderHint(QPainter.SmoothPixmapTransform, smooth)

    # -- events ------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.ControlModifier:
            turn = delta.y() or delta.x()
            if turn:
                self.zoom_by(WHEEL_STEP ** (turn / 120), event.position())
        elif not event.pixelDelta().isNull():  # a touchpad: two-finger scroll pans both ways
            self.pan_by(event.pixelDelta().x(), event.pixelDelta().y())
        elif event.modifiers() & Qt.ShiftModifier:
            self.pan_by((delta.y() or delta.x()) / 120 * WHEEL_SCROLL_PX, 0)
        else:
            self.pan_by(delta.x() / 120 * WHEEL_SCROLL_PX, delta.y() / 120 * WHEEL_SCROLL_PX)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            if self._tool_down and self.tool is not None:
                self.tool.cancel(self)
                self._tool_down = False
            elif self._preview is not None and self.document is not None:
                self.set_preview(None)
            event.accept()
            return
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self.hold_space(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self.hold_space(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def hold_space(self, held: bool) -> None:
        """Space held: a left drag pans (ui/canvas_keys.py calls this with the focus elsewhere)."""
        self._space_held = held
        if held:
            self.viewport().setCursor(Qt.OpenHandCursor)
        elif self._pan_from is None:
            self._update_cursor()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_held):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.LeftButton and self._tool_event("press", event.position(), 1.0, event.modifiers()):
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
        self._track_pointer(event.position())
        if self._tool_down:
            self._tool_event("move", event.position(), 1.0, event.modifiers())
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            if self._space_held:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self._update_cursor()
            event.accept()
            return
        if event.button() == Qt.LeftButton and self._tool_down:
            self._tool_event("release", event.position(), 1.0, event.modifiers())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def viewportEvent(self, event) -> bool:
        # A tablet's pen: the same tool calls with its pressure. Accepting the
        # event stops Qt from also sending the mouse events it would make of it.
        kind = _TABLET_EVENTS.get(event.type())
        if kind is not None and self._pan_from is None and not self._space_held:
            self._track_pointer(event.position())
            if kind == "press" or self._tool_down:
                self._tool_event(kind, event.position(), event.pressure(), event.modifiers())
            event.accept()
            return True
        if event.type() == QEvent.Leave:
            self._pointer = None
            self.pointerMoved.emit(None)
            self.viewport().update()
        return super().viewportEvent(event)

    def _track_pointer(self, pos: QPointF) -> None:
        self._pointer = self.mapToScene(pos.toPoint())
        if self.document is not None:
            x, y = self._pointer.x(), self._pointer.y()
            inside = 0 <= x < self.document.width and 0 <= y < self.document.height
            self.pointerMoved.emit((int(x), int(y)) if inside else None)
        if self.tool is not None:
            self.viewport().update()  # the brush outline follows the pointer

    def _tool_event(self, kind: str, pos: QPointF, pressure: float, modifiers) -> bool:
        """Hand a press/move/release to the tool in document coordinates."""
        if self.tool is None or self.document is None:
            return False
        point = self.viewportTransform().inverted()[0].map(QPointF(pos))
        if kind == "press":
            self._tool_down = True
            if self._preview is not None and self.tool.hides_preview:
                self.set_preview(None)
        elif kind == "release":
            self._tool_down = False
        tool = self.tool
        getattr(tool, kind)(self, point.x(), point.y(), max(0.0, min(1.0, pressure)), modifiers)
        self.viewport().update()
        if kind == "release":
            self.strokeFinished.emit(tool)
        return True

    def set_tool(self, tool) -> None:
        """The tool that gets pointer input (studio.ui.canvas_tools), or None."""
        if self._tool_down and self.tool is not None:
            self.tool.cancel(self)
            self._tool_down = False
        self.tool = tool
        self._update_cursor()
        self.viewport().update()

    def _update_cursor(self) -> None:
        cursor = getattr(self.tool, "cursor", None)
        if cursor is None:
            self.viewport().unsetCursor()
        else:
            self.viewport().setCursor(cursor)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels."""
        self._fit_mode = False
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(dx))
        v.setValue(v.value() - round(dy))

    # -- painting ----------------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, current().canvas)  # read now: the theme can change while the app runs
        if not self._has_alpha:
            return  # opaque images hide it anyway; skipping avoids a rounding sliver at the edges
        # The checkerboard is laid out in screen pixels, so it does not grow
        # into huge squares when zoomed in.
        on_screen = self.mapFromScene(self._item.boundingRect()).boundingRect()
        painter.save()
        painter.resetTransform()
        painter.fillRect(on_screen, self._checker)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.document is not None and self.tool is not None and not self._space_held:
            self.tool.draw(painter, self, self._pointer)
            return
        if self.document is not None or self._preview is not None or not self.placeholder:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(current().muted_text)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
        painter.restore()
