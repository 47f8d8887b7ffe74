"""Builders for the awkward files users drop in: hand-made ICC profiles, 16-bit
PNG and TIFF, PNGs with chunks in odd places. Pillow cannot write most of
these, so they are assembled from the format specs here."""

from __future__ import annotations

import struct
import zlib
from typing import Callable

import numpy as np
import pytest

# --- ICC profiles (version 2) -------------------------------------------------

# D50-adapted colorants of Adobe RGB (1998), as in Adobe's own profile.
ADOBE_RGB_COLORANTS = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
# D50-adapted colorants of sRGB (Bradford), as in lcms's built-in sRGB.
SRGB_COLORANTS = ((0.43607, 0.22249, 0.01392), (0.38515, 0.71687, 0.09708), (0.14307, 0.06061, 0.71410))
ADOBE_GAMMA = 563 / 256  # 2.19921875, the u8Fixed8 value in Adobe's profile
D50 = (0.9642, 1.0, 0.8249)


def _s15(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _gamma_curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(8) + bytes(3) + bytes(67)


def _text(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def build_icc(device_class: bytes, colour_space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 profile from (signature, tag data) pairs."""
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs = [], []
    for signature, data in tags:
        entries.append(struct.pack(">4sII", signature, offset, len(data)))
        padded = data + bytes(-len(data) % 4)
        blobs.append(padded)
        offset += len(padded)
    body = struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs)
    size = 128 + len(body)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + device_class + colour_space + pcs
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + bytes(4) + bytes(4) + bytes(4) + bytes(4)
        + bytes(8) + struct.pack(">I", 0) + _s15(D50[0]) + _s15(D50[1]) + _s15(D50[2]) + bytes(4) + bytes(16)
        + bytes(28)
    )
    assert len(header) == 128
    return header + body


def rgb_matrix_icc(colorants, gamma: float, name: str) -> bytes:
    r, g, b = colorants
    return build_icc(b"mntr", b"RGB ", b"XYZ ", [
        (b"desc", _desc(name)), (b"cprt", _text("No copyright, test profile")), (b"wtpt", _xyz(*D50)),
        (b"rXYZ", _xyz(*r)), (b"gXYZ", _xyz(*g)), (b"bXYZ", _xyz(*b)),
        (b"rTRC", _gamma_curve(gamma)), (b"gTRC", _gamma_curve(gamma)), (b"bTRC", _gamma_curve(gamma)),
    ])


def k_only_cmyk_icc() -> bytes:
    """A CMYK printer profile that ignores C, M and Y: lightness comes from K
    alone. Pixels then come out grey, which naive CMYK->RGB never gives for
    pure inks, so a test can tell the profile was used."""
    grid = 2
    clut = []
    for c in range(grid):
        for m in range(grid):
            for y in range(grid):
                for k in range(grid):
                    lightness = 0xFF00 if k == 0 else 0  # legacy 16-bit Lab: L 100 = 0xFF00, a=b=0 at 0x8000
                    clut += [lightness, 0x8000, 0x8000]
    identity = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    lut = (
        b"mft2" + bytes(4) + struct.pack(">4B", 4, 3, grid, 0) + b"".join(_s15(v) for v in identity)
        + struct.pack(">HH", 2, 2) + struct.pack(">8H", *([0, 65535] * 4))
        + struct.pack(f">{len(clut)}H", *clut) + struct.pack(">6H", *([0, 65535] * 3))
    )
    return build_icc(b"prtr", b"CMYK", b"Lab ", [
        (b"desc", _desc("K only test CMYK")), (b"cprt", _text("No copyright, test profile")),
        (b"wtpt", _xyz(*D50)), (b"A2B0", lut),
    ])


def gray_gamma_icc(gamma: float) -> bytes:
    return build_icc(b"mntr", b"GRAY", b"XYZ ", [
        (b"desc", _desc(f"Gray gamma {gamma}")), (b"cprt", _text("No copyright, test profile")),
        (b"wtpt", _xyz(*D50)), (b"kTRC", _gamma_curve(gamma)),
    ])


@pytest.fixture
def icc_colorants() -> dict:
    """The numbers the test profiles are made of, for computing expected colours."""
    return {"adobe_rgb": ADOBE_RGB_COLORANTS, "srgb": SRGB_COLORANTS, "adobe_gamma": ADOBE_GAMMA}


@pytest.fixture
def adobe_rgb_icc() -> bytes:
    return rgb_matrix_icc(ADOBE_RGB_COLORANTS, ADOBE_GAMMA, "Adobe RGB (1998) test copy")


@pytest.fixture
def linear_srgb_icc() -> bytes:
    """sRGB primaries with a linear (gamma 1.0) curve: mid grey 128 must become about 188 in sRGB."""
    return rgb_matrix_icc(SRGB_COLORANTS, 1.0, "Linear sRGB")


@pytest.fixture
def cmyk_icc() -> bytes:
    return k_only_cmyk_icc()


@pytest.fixture
def linear_gray_icc() -> bytes:
    return gray_gamma_icc(1.0)


# --- raw PNG and TIFF ---------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes, extra: bytes = b"") -> bytes:
    """A PNG from already filtered scanlines (each row starts with its filter byte)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows))
            + extra + png_chunk(b"IEND", b""))


def png16(samples: np.ndarray) -> bytes:
    """A 16-bit PNG from uint16 HxWxC (C = 1, 2, 3 or 4 -> grey, grey+alpha, RGB, RGBA)."""
    h, w, c = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    big = samples.astype(">u2").reshape(h, w * c)
    rows = b"".join(b"\x00" + big[y].tobytes() for y in range(h))
    return png_bytes(w, h, 16, colour_type, rows)


def tiff16(samples: np.ndarray) -> bytes:
    """An uncompressed little-endian baseline TIFF from uint16 HxWx3 or HxWx4 (unassociated alpha)."""
    h, w, c = samples.shape
    data = samples.astype("<u2").tobytes()
    bits_offset = 8
    bits = struct.pack(f"<{c}H", *([16] * c))
    strip_offset = bits_offset + len(bits) + (len(bits) % 2)
    ifd_offset = strip_offset + len(data)
    entries = [
        (256, 4, 1, w), (257, 4, 1, h), (258, 3, c, bits_offset), (259, 3, 1, 1), (262, 3, 1, 2),
        (273, 4, 1, strip_offset), (277, 3, 1, c), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1),
    ]
    if c == 4:
        entries.append((338, 3, 1, 2))
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed_value = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed_value
    ifd += struct.pack("<I", 0)
    header = b"II*\x00" + struct.pack("<I", ifd_offset)
    return header + bits + bytes(len(bits) % 2) + data + ifd


@pytest.fixture
def make_png16() -> Callable[[np.ndarray], bytes]:
    return png16


@pytest.fixture
def make_tiff16() -> Callable[[np.ndarray], bytes]:
    return tiff16


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    return png_bytes


@pytest.fixture
def make_png_chunk() -> Callable[[bytes, bytes], bytes]:
    return png_chunk
