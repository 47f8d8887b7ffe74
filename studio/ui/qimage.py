"""numpy image arrays <-> QImage/QPixmap, in one place."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def qimage_from_array(image: np.ndarray) -> QImage:
    """image: uint8 HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA, straight alpha) -> an owning QImage."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    if pixels.ndim == 2:
        fmt = QImage.Format_Grayscale8
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        fmt = QImage.Format_RGB888
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        fmt = QImage.Format_RGBA8888
    else:
        raise ValueError(f"cannot show an image of shape {list(pixels.shape)}")
    height, width = pixels.shape[:2]
    # QImage borrows the buffer; copy() detaches it so the array may be freed.
    return QImage(pixels.data, width, height, pixels.strides[0], fmt).copy()


def pixmap_from_array(image: np.ndarray, size: int | None = None) -> QPixmap:
    """A pixmap of `image` fitted into `size` px square. Small images grow by a
    whole factor with hard pixel edges (an 8 px sample must stay crisp, every
    pixel the same size); large ones shrink smoothly."""
    pixmap = QPixmap.fromImage(qimage_from_array(image))
    if size is None:
        return pixmap
    longest = max(pixmap.width(), pixmap.height())
    if longest <= size:
        factor = size // longest
        return pixmap if factor == 1 else pixmap.scaled(pixmap.size() * factor, Qt.KeepAspectRatio,
                                                        Qt.FastTransformation)
    return pixmap.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)


def array_from_qimage(image: QImage) -> np.ndarray:
    """QImage -> uint8 HxWx4 RGBA (used to read back what a widget shows)."""
    rgba = image.convertToFormat(QImage.Format_RGBA8888)
    height, width = rgba.height(), rgba.width()
    buffer = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.sizeInBytes())
    return buffer.reshape(height, rgba.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()
