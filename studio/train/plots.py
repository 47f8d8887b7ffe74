"""Training curves as one PNG (RUNDIR/curves.png), drawn with Pillow so the
trainer needs no plotting library: losses, R1, SWD and diversity against step.
"""

from __future__ import annotations

import io
import math
import os

from PIL import Image, ImageDraw, ImageFont

from studio.core.atomic import atomic_write_bytes

PANEL_W, PANEL_H = 480, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 16, 30, 34
BACKGROUND, INK, GRID = (255, 255, 255), (40, 40, 40), (225, 225, 225)
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]

# (title, [(series key, label), ...]) per panel, left to right, top to bottom.
PANELS = [
    ("losses", [("loss_g", "G"), ("loss_d", "D")]),
    ("R1 (mean squared gradient norm)", [("r1", "R1")]),
    ("SWD x1000 vs reference images (lower is better)", [("swd", "SWD")]),
    ("diversity (mean pairwise L1)", [("diversity", "generated"), ("diversity_reference", "reference")]),
]


def draw_curves(rows: list[dict], path: str | os.PathLike, panels: list = PANELS) -> None:
    """rows: dicts with "step" and any of the panels' keys (missing or None
    values are gaps). panels: four (title, [(key, label), ...]) entries,
    PANELS by default. Writes a 2x2-panel PNG atomically."""
    sheet = Image.new("RGB", (PANEL_W * 2, PANEL_H * 2), BACKGROUND)
    for i, (title, series) in enumerate(panels):
        panel = _panel(title, [(label, _points(rows, key)) for key, label in series])
        sheet.paste(panel, ((i % 2) * PANEL_W, (i // 2) * PANEL_H))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def _points(rows: list[dict], key: str) -> list[tuple[float, float]]:
    out = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v) and "step" in r:
            out.append((float(r["step"]), float(v)))
    return out


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the bitmap font, one size only
        return ImageFont.load_default()


def _panel(title: str, series: list[tuple[str, list[tuple[float, float]]]]) -> Image.Image:
    im = Image.new("RGB", (PANEL_W, PANEL_H), BACKGROUND)
    d = ImageDraw.Draw(im)
    small, big = _font(11), _font(13)
    d.text((MARGIN_L, 8), title, fill=INK, font=big)
    x0, y0, x1, y1 = MARGIN_L, MARGIN_T, PANEL_W - MARGIN_R, PANEL_H - MARGIN_B
    points = [p for _, pts in series for p in pts]
    d.rectangle([x0, y0, x1, y1], outline=INK)
    if not points:
        d.text(((x0 + x1) // 2 - 30, (y0 + y1) // 2), "no data yet", fill=INK, font=small)
        return im
    sx0, sx1 = _span([p[0] for p in points])
    sy0, sy1 = _span([p[1] for p in points])
    fx = lambda v: x0 + (v - sx0) / (sx1 - sx0) * (x1 - x0)  # noqa: E731
    fy = lambda v: y1 - (v - sy0) / (sy1 - sy0) * (y1 - y0)  # noqa: E731
    yticks = _ticks(sy0, sy1)
    for v in yticks:
        y = fy(v)
        d.line([x0 + 1, y, x1 - 1, y], fill=GRID)
        label = _label(v, yticks)
        d.text((x0 - 6 - d.textlength(label, font=small), y - 6), label, fill=INK, font=small)
    xticks = _ticks(sx0, sx1, minimum_step=1.0)  # steps are whole numbers
    for v in xticks:
        x = fx(v)
        d.line([x, y0 + 1, x, y1 - 1], fill=GRID)
        label = _label(v, xticks)
        d.text((x - d.textlength(label, font=small) / 2, y1 + 4), label, fill=INK, font=small)
    d.text((x1 - d.textlength("step", font=small), y1 + 18), "step", fill=INK, font=small)
    d.rectangle([x0, y0, x1, y1], outline=INK)  # after the grid, which would otherwise hide it
    # The legend sits in the title row, right-aligned, never over a curve.
    labels = [label for label, _ in series] if len(series) > 1 else []
    legend_x = x1 - sum(28 + int(d.textlength(lb, font=small)) for lb in labels)
    for i, (label, pts) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        xy = [(fx(x), fy(y)) for x, y in pts]
        if len(xy) == 1:
            x, y = xy[0]
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        elif xy:
            d.line(xy, fill=colour, width=2)
        if len(series) > 1:
            d.line([legend_x, 15, legend_x + 16, 15], fill=colour, width=2)
            d.text((legend_x + 20, 8), label, fill=INK, font=small)
            legend_x += 28 + int(d.textlength(label, font=small))
    return im


def _span(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, count: int = 5, minimum_step: float = 0.0) -> list[float]:
    """Round numbers between lo and hi (1, 2 or 5 times a power of ten apart)."""
    raw = max((hi - lo) / count, minimum_step, 1e-12)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _label(v: float, ticks: list[float]) -> str:
    """A tick label with just enough decimals to tell neighbours apart."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(v) or 1.0
    if abs(v) < step * 1e-6:
        return "0"
    if abs(v) >= 10000 and step >= 1000:
        return f"{v / 1000:.{max(0, -math.floor(math.log10(step / 1000)))}f}k"
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{v:.{decimals}f}"
