"""A small line plot of training curves (losses, SWD), drawn with QPainter.

No plotting library: a few hundred points per curve, redrawn when one is
added, is cheap, and the look matches the dark chrome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.ui.theme import Theme, current

MAX_DRAWN = 600  # points drawn per curve; longer curves are thinned evenly (all points are kept)
MARGIN = 6


@dataclass
class Curve:
    label: str
    colour: QColor
    points: list[tuple[float, float]] = field(default_factory=list)  # (step, value), finite values only
    role: str = ""  # a Theme role: colour re-read from the current theme at each paint


class CurvePlot(QWidget):
    """Curves over training steps sharing one y axis; y range from the data."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.curves: dict[str, Curve] = {}
        self.placeholder = "No data yet"
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setMinimumHeight(96)
        self.setMaximumHeight(96)

    def sizeHint(self) -> QSize:
        return QSize(240, 96)

    def add_curve(self, key: str, label: str, colour: QColor | str) -> None:
        """colour: a QColor or "#rrggbb", or the name of a Theme role ("accent",
        "warning") to follow the current theme when it changes."""
        if isinstance(colour, str) and colour != "name" and colour in Theme.__dataclass_fields__:
            self.curves[key] = Curve(label, getattr(current(), colour), role=colour)
        else:
            self.curves[key] = Curve(label, QColor(colour))

    def add_point(self, key: str, step: float, value: float | None) -> None:
        """Append (step, value) to curve `key`; None, NaN and inf are skipped
        (a diverged loss must not flatten the rest of the plot)."""
        if value is None or not math.isfinite(value) or key not in self.curves:
            return
        self.curves[key].points.append((float(step), float(value)))
        self.update()

    def clear(self) -> None:
        for curve in self.curves.values():
            curve.points.clear()
        self.update()

    def point_count(self) -> int:
        return sum(len(c.points) for c in self.curves.values())

    def _ranges(self) -> tuple[float, float, float, float] | None:
        points = [p for c in self.curves.values() for p in c.points]
        if not points:
            return None
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        if x1 == x0:
            x1 = x0 + 1.0
        if y1 == y0:  # a flat curve sits in the middle, not on the frame
            pad = abs(y0) * 0.1 or 1.0
            y0, y1 = y0 - pad, y1 + pad
        return x0, x1, y0, y1

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(current().frame, 1))
        painter.setBrush(current().base)
        painter.drawRoundedRect(rect, 3, 3)

        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1.5, 6.5))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        line_h = metrics.height()
        plot = rect.adjusted(MARGIN, MARGIN + line_h, -MARGIN, -MARGIN - line_h)

        # Title and legend on the top line.
        painter.setPen(current().heading)
        for curve in self.curves.values():
            if curve.role:
                curve.colour = getattr(current(), curve.role)
        painter.drawText(QPointF(rect.left() + MARGIN, rect.top() + MARGIN + metrics.ascent()), self.title)
        x = rect.right() - MARGIN
        for curve in reversed(list(self.curves.values())):
            x -= metrics.horizontalAdvance(curve.label)
            painter.setPen(curve.colour)
            painter.drawText(QPointF(x, rect.top() + MARGIN + metrics.ascent()), curve.label)
            x -= 12

        ranges = self._ranges()
        if ranges is None:
            painter.setPen(current().muted_text)
            painter.drawText(plot, Qt.AlignCenter, self.placeholder)
            return
        x0, x1, y0, y1 = ranges
        # A gutter on the left for the value range.
        top_label, bottom_label = _number(y1), _number(y0)
        gutter = max(metrics.horizontalAdvance(top_label), metrics.horizontalAdvance(bottom_label)) + 4
        painter.setPen(current().muted_text)
        painter.drawText(QRectF(plot.left(), plot.top() - 1, gutter - 4, line_h), Qt.AlignRight | Qt.AlignTop,
                         top_label)
        painter.drawText(QRectF(plot.left(), plot.bottom() - line_h + 1, gutter - 4, line_h),
                         Qt.AlignRight | Qt.AlignBottom, bottom_label)
        plot = plot.adjusted(gutter, 0, 0, 0)

        def to_screen(step: float, value: float) -> QPointF:
            return QPointF(plot.left() + (step - x0) / (x1 - x0) * plot.width(),
                           plot.bottom() - (value - y0) / (y1 - y0) * plot.height())

        # Faint guide lines at the top and bottom of the value range.
        painter.setPen(QPen(current().mid, 1, Qt.DashLine))
        painter.drawLine(QPointF(plot.left(), plot.top()), QPointF(plot.right(), plot.top()))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))

        for curve in self.curves.values():
            points = curve.points
            if not points:
                continue
            stride = max(1, math.ceil(len(points) / MAX_DRAWN))
            drawn = points[::stride]
            if drawn[-1] is not points[-1]:
                drawn.append(points[-1])  # the newest value is always on screen
            painter.setPen(QPen(curve.colour, 1.5))
            painter.setBrush(Qt.NoBrush)
            if len(drawn) == 1:
                painter.setBrush(curve.colour)
                painter.drawEllipse(to_screen(*drawn[0]), 2, 2)
                continue
            path = QPainterPath(to_screen(*drawn[0]))
            for point in drawn[1:]:
                path.lineTo(to_screen(*point))
            painter.drawPath(path)

        # Step range underneath, the newest values in the middle.
        baseline = plot.bottom() + MARGIN / 2 + metrics.ascent()
        painter.setPen(current().muted_text)
        painter.drawText(QPointF(plot.left(), baseline), f"{int(x0)}")
        last = f"step {int(x1)}"
        painter.drawText(QPointF(plot.right() - metrics.horizontalAdvance(last), baseline), last)
        # The newest value of each curve, in its colour.
        latest = [(f"{c.points[-1][1]:.3g}", c.colour) for c in self.curves.values() if c.points]
        gap = 10
        width = sum(metrics.horizontalAdvance(text) for text, _ in latest) + gap * (len(latest) - 1)
        x = plot.center().x() - width / 2
        for text, colour in latest:
            # A touch brighter than the line on a dark plot, darker on a light one: the digits stay legible.
            painter.setPen(colour.lighter(115) if current().base.lightness() < 128 else colour.darker(120))
            painter.drawText(QPointF(x, baseline), text)
            x += metrics.horizontalAdvance(text) + gap


def _number(value: float) -> str:
    return f"{value:.3g}"
