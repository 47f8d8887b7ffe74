"""The canvas tools: brush, eraser, mask brush and mask eraser, rectangle and
lasso selection, move layer, eyedropper.

A tool gets press / move / release in document pixels (floats) with pen
pressure, edits the document through core (a brush edits pixels in place
while the stroke is drawn, so the canvas shows it live, and lands as one
PixelEdit on release), and draws its own outline over the canvas. Every
change ends as one command in the document's history.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

from studio.core import mask as mask_ops
from studio.core.brush import Stroke, pick_colour
from studio.core.commands import OffsetLayer, PixelEdit, SetMask
from studio.core.document import Document, DocumentError, alpha_bounds

MIN_SIZE, MAX_SIZE = 1.0, 1000.0  # brush diameter, px
SIZE_STEP = 1.25  # [ and ] scale the size by this (as Krita does, evenly at any size)
EYEDROPPER_RADIUS = 1.5  # px: a 3 px average, steadier than one noisy pixel

Report = Callable[[str], None]


class ToolSettings(QObject):
    """What the brush-like tools share: size (px diameter), hardness 0..1,
    opacity 0..1 and colour (r, g, b). One set for all of them, as in Krita,
    so switching to the eraser keeps the size the hand is used to."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.size, self.hardness, self.opacity = 24.0, 0.8, 1.0
        self.colour = (20, 20, 24)

    def set(self, **values) -> None:
        for key, value in values.items():
            if key == "size":
                value = min(max(float(value), MIN_SIZE), MAX_SIZE)
            elif key in ("hardness", "opacity"):
                value = min(max(float(value), 0.0), 1.0)
            elif key == "colour":
                value = tuple(int(c) for c in value)
            setattr(self, key, value)
        self.changed.emit()

    def grow(self) -> None:
        self.set(size=max(self.size * SIZE_STEP, self.size + 1))

    def shrink(self) -> None:
        self.set(size=min(self.size / SIZE_STEP, self.size - 1))


def _cosmetic_pen(colour: QColor, width: float = 1.0, style=Qt.SolidLine) -> QPen:
    pen = QPen(colour, width, style)
    pen.setCosmetic(True)  # screen px at any zoom
    return pen


class Tool:
    name = ""
    cursor = Qt.CrossCursor
    # Pixel tools move a floating generated frame out of the way (painting
    # under it would be painting blind); selecting is how one aims it.
    hides_preview = True
    # A finished stroke of this tool adds to the selection mask (the mask
    # brush, rectangle, lasso): the inpaint panel can fill it on release.
    makes_mask = False

    def __init__(self, settings: ToolSettings, report: Report):
        self.settings, self.report = settings, report

    def press(self, canvas, x: float, y: float, pressure: float, modifiers) -> None:
        pass

    def move(self, canvas, x: float, y: float, pressure: float, modifiers) -> None:
        pass

    def release(self, canvas, x: float, y: float, pressure: float, modifiers) -> None:
        pass

    def cancel(self, canvas) -> None:
        """Abandon what the pointer was doing (tool switched mid-drag)."""

    def draw(self, painter: QPainter, canvas, pointer: QPointF | None) -> None:
        """Overlay in scene (document px) coordinates."""

    def _apply(self, doc: Document, command) -> bool:
        try:
            doc.apply(command)
        except DocumentError as exc:
            self.report(str(exc))
            return False
        return True


class BrushTool(Tool):
    """mode: "paint" (brush), "erase" (eraser), "mask" (mask brush) or
    "unmask" (mask eraser). Ctrl+click with the brush picks a colour."""

    NAMES = {"paint": "Brush", "erase": "Eraser", "mask": "Mask Brush", "unmask": "Mask Eraser"}

    def __init__(self, mode: str, settings: ToolSettings, report: Report):
        super().__init__(settings, report)
        self.mode, self.name = mode, self.NAMES[mode]
        self.makes_mask = mode == "mask"
        self._stroke: Stroke | None = None
        self._target: int | str | None = None
        self._picking = False

    def press(self, canvas, x, y, pressure, modifiers) -> None:
        doc: Document = canvas.document
        if self.mode == "paint" and modifiers & Qt.ControlModifier:
            self._picking = True
            pick(canvas, x, y, self.settings)
            return
        if self.mode in ("paint", "erase"):
            layer = doc.active
            if layer is None:
                self.report("There is no layer to paint on: add one with Layer > New Layer")
                return
            if layer.locked:
                self.report(f"Layer '{layer.name}' is locked: unlock it in the Layers panel to paint on it")
                return
            if not layer.visible:
                self.report(f"Layer '{layer.name}' is hidden: show it to paint on it")
                return
            target, self._target = layer.pixels, layer.id
        else:
            target, self._target = doc.mask, "mask"
        s = self.settings
        self._stroke = Stroke(target, self.mode, size=s.size, hardness=s.hardness, opacity=s.opacity,
                              colour=s.colour)
        self._add(doc, x, y, pressure)

    def move(self, canvas, x, y, pressure, modifiers) -> None:
        if self._picking:
            pick(canvas, x, y, self.settings)
        elif self._stroke is not None:
            self._add(canvas.document, x, y, pressure)

    def release(self, canvas, x, y, pressure, modifiers) -> None:
        self._picking = False
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        result = stroke.finish()
        if result is not None:
            rect, before, after = result
            self._apply(canvas.document, PixelEdit(self._target, rect, before, after, self.name))

    def cancel(self, canvas) -> None:
        self._picking = False
        stroke, self._stroke = self._stroke, None
        if stroke is not None:
            dirty = stroke.cancel()
            if dirty is not None:
                canvas.document.touch(dirty)

    def _add(self, doc: Document, x: float, y: float, pressure: float) -> None:
        dirty = self._stroke.add(x, y, pressure)
        if dirty is not None:
            doc.touch(dirty)

    def draw(self, painter, canvas, pointer) -> None:
        if pointer is None:
            return
        r = self.settings.size / 2
        circle = QRectF(pointer.x() - r, pointer.y() - r, 2 * r, 2 * r)
        # Two rings, dark then light, so the outline shows on any colour.
        painter.setPen(_cosmetic_pen(QColor(0, 0, 0, 160), 3))
        painter.drawEllipse(circle)
        painter.setPen(_cosmetic_pen(QColor(255, 255, 255, 220), 1))
        painter.drawEllipse(circle)


def pick(canvas, x: float, y: float, settings: ToolSettings) -> None:
    """Set the brush colour from the visible image at (x, y) (transparent
    pixels give nothing: picking the checkerboard is never what was meant)."""
    doc: Document = canvas.document
    if not (0 <= x < doc.width and 0 <= y < doc.height):
        return
    r = int(EYEDROPPER_RADIUS) + 1
    x0, y0 = max(int(x) - r, 0), max(int(y) - r, 0)
    patch = doc.composite((x0, y0, int(x) + r + 1, int(y) + r + 1))
    if patch[int(y) - y0, int(x) - x0, 3] == 0:
        return
    settings.set(colour=pick_colour(patch, x - x0, y - y0, EYEDROPPER_RADIUS))


class EyedropperTool(Tool):
    name = "Eyedropper"
    hides_preview = False

    def press(self, canvas, x, y, pressure, modifiers) -> None:
        pick(canvas, x, y, self.settings)

    def move(self, canvas, x, y, pressure, modifiers) -> None:
        pick(canvas, x, y, self.settings)


def _combine_op(modifiers) -> str:
    """Shift adds to the selection, Alt subtracts, plain replaces (Krita, Photoshop)."""
    if modifiers & Qt.ShiftModifier:
        return "add"
    if modifiers & Qt.AltModifier:
        return "subtract"
    return "replace"


class _SelectionTool(Tool):
    """Drag out a shape; on release it becomes the mask (combined by modifier).
    A click without a drag clears the selection."""

    hides_preview = False
    makes_mask = True

    def __init__(self, settings, report):
        super().__init__(settings, report)
        self._points: list[tuple[float, float]] = []

    def press(self, canvas, x, y, pressure, modifiers) -> None:
        self._points = [(x, y)]

    def move(self, canvas, x, y, pressure, modifiers) -> None:
        if self._points:
            self._extend(x, y)

    def release(self, canvas, x, y, pressure, modifiers) -> None:
        points, self._points = self._points, []
        if not points:
            return
        doc: Document = canvas.document
        if max(abs(px - points[0][0]) + abs(py - points[0][1]) for px, py in [*points, (x, y)]) < 2:
            if doc.mask.any() and _combine_op(modifiers) == "replace":
                self._apply(doc, SetMask(np.zeros_like(doc.mask), "Deselect"))
            return
        self._extend(x, y)
        shape = self._rasterise(doc, points)
        if shape is not None:
            op = _combine_op(modifiers)
            self._apply(doc, SetMask(mask_ops.combine(doc.mask, shape, op), self.name))

    def cancel(self, canvas) -> None:
        self._points = []

    def _extend(self, x: float, y: float) -> None:
        raise NotImplementedError

    def _rasterise(self, doc: Document, points):
        raise NotImplementedError


class RectSelectTool(_SelectionTool):
    name = "Rectangle Selection"

    def _extend(self, x, y) -> None:
        self._points[1:] = [(x, y)]

    def _rasterise(self, doc, points):
        (ax, ay), (bx, by) = points[0], points[-1]
        rect = (round(min(ax, bx)), round(min(ay, by)), round(max(ax, bx)), round(max(ay, by)))
        return mask_ops.rectangle(doc.width, doc.height, rect)

    def draw(self, painter, canvas, pointer) -> None:
        if len(self._points) == 2:
            (ax, ay), (bx, by) = self._points
            _marching(painter, lambda: painter.drawRect(QRectF(QPointF(ax, ay), QPointF(bx, by)).normalized()))


class LassoTool(_SelectionTool):
    name = "Lasso Selection"

    def _extend(self, x, y) -> None:
        self._points.append((x, y))

    def _rasterise(self, doc, points):
        return mask_ops.lasso(doc.width, doc.height, points) if len(points) >= 3 else None

    def draw(self, painter, canvas, pointer) -> None:
        if len(self._points) >= 2:
            polygon = QPolygonF([QPointF(x, y) for x, y in self._points])
            _marching(painter, lambda: painter.drawPolyline(polygon))


def _marching(painter: QPainter, draw: Callable[[], None]) -> None:
    """Black and white dashes: visible on any image."""
    painter.setBrush(Qt.NoBrush)
    painter.setPen(_cosmetic_pen(QColor(0, 0, 0), 1))
    draw()
    painter.setPen(_cosmetic_pen(QColor(255, 255, 255), 1, Qt.DashLine))
    draw()


class MoveTool(Tool):
    """Drag the active layer; its content's outline follows the pointer and the
    layer moves (one undoable step) on release."""

    name = "Move Layer"
    cursor = Qt.SizeAllCursor

    def __init__(self, settings, report):
        super().__init__(settings, report)
        self._start: tuple[float, float] | None = None
        self._delta = (0, 0)
        self._bounds = None

    def press(self, canvas, x, y, pressure, modifiers) -> None:
        layer = canvas.document.active
        if layer is None:
            return
        if layer.locked:
            self.report(f"Layer '{layer.name}' is locked: unlock it in the Layers panel to move it")
            return
        self._start, self._delta = (x, y), (0, 0)
        self._bounds = alpha_bounds(layer.pixels)

    def move(self, canvas, x, y, pressure, modifiers) -> None:
        if self._start is not None:
            self._delta = (round(x - self._start[0]), round(y - self._start[1]))

    def release(self, canvas, x, y, pressure, modifiers) -> None:
        if self._start is None:
            return
        self.move(canvas, x, y, pressure, modifiers)
        self._start = None
        doc: Document = canvas.document
        if self._delta != (0, 0) and doc.active is not None:
            self._apply(doc, OffsetLayer(doc.active.id, *self._delta))

    def cancel(self, canvas) -> None:
        self._start = None

    def draw(self, painter, canvas, pointer) -> None:
        if self._start is None or self._bounds is None:
            return
        x0, y0, x1, y1 = self._bounds
        dx, dy = self._delta
        _marching(painter, lambda: painter.drawRect(QRectF(x0 + dx, y0 + dy, x1 - x0, y1 - y0)))
