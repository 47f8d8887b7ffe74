"""Animations out: GIF, animated WebP, MP4 or a folder of numbered PNG frames.

Every target is written atomically: a temporary file (or folder) beside the
target that replaces it only once complete, so a cancelled or failed export
leaves the previous file untouched.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from studio.core import recipe as recipes
from studio.core.atomic import atomic_path, new_folder_mode
from studio.core.export import flatten
from studio.core.imageio import ImageError

ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".mp4": "MP4"}

# Players and browsers show tiny videos badly or refuse them (some hardware
# decoders need 128 px or more), and yuv420p halves colour resolution, which
# smears 64 px pixel art. So MP4 frames are enlarged by a whole factor with
# nearest neighbour until the short side is at least this: 64 px becomes 256 px
# with every source pixel an exact 4x4 block. GIF, WebP and PNG frames keep
# their own size, since those formats store pixels exactly enough already.
MP4_MIN_SIDE = 256

# GIF delays are whole centiseconds, and browsers treat 0 or 1 as 10 (100 ms),
# so 2 cs (50 fps) is the fastest a GIF really plays.
GIF_MIN_DELAY_CS = 2

WEBP_QUALITY = 90
MP4_CRF = 18  # visually lossless for x264

_FRAME_FILE = re.compile(r"frame_\d+\.png")

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class _Cancel(Exception):
    """Raised inside the atomic write to unwind it when the user cancels."""


def save_animation(
    path: str | os.PathLike,
    frames: np.ndarray,
    fps: float = 24,
    recipe: dict[str, Any] | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> bool:
    """Write frames (uint8 [N,H,W,3] RGB) as an animation at `fps` frames per second.
    RGBA frames (a generator that draws transparency) are laid on white: MP4
    has no alpha, and GIF's one-bit transparency would fray soft edges.

    The kind follows `path`: .gif and .webp loop forever, .mp4 is H.264 yuv420p
    (frames enlarged to at least MP4_MIN_SIDE px and padded to even sizes), and a
    path without a suffix becomes a folder of frame_0000.png ... plus recipe.json.
    `recipe` is stored in the GIF comment, WebP XMP, MP4 comment tag or recipe.json.
    GIF and WebP merge identical consecutive frames into one longer frame (same
    timing, fewer stored frames); MP4 and folders keep every frame.
    progress(done, total) is called as frames are finished (total = N; done = N
    only once the file is in place). cancelled() is polled between frames; when
    it returns True nothing is written and the result is False. Returns True
    when written. Raises ImageError for an unknown suffix or a failed write,
    ValueError for bad frames or fps.
    """
    p = Path(path)
    frames = _check_frames(frames)
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    suffix = p.suffix.lower()
    if suffix and suffix not in ANIMATION_FORMATS:
        raise ImageError(
            f"cannot save {p.name}: unknown animation type '{p.suffix}'; "
            "use .gif, .webp, .mp4, or a name without suffix for a folder of PNG frames"
        )
    report = progress or (lambda done, total: None)
    stop = cancelled or (lambda: False)
    try:
        if not suffix:
            _write_frame_folder(p, frames, recipe, report, stop)
        else:
            with atomic_path(p) as tmp:
                writer = {"GIF": _write_gif, "WEBP": _write_webp, "MP4": _write_mp4}[ANIMATION_FORMATS[suffix]]
                writer(tmp, frames, fps, recipe, report, stop)
    except _Cancel:
        return False
    except ImageError:
        raise
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot save {p.name}: {' '.join(str(exc).split())}") from exc
    report(len(frames), len(frames))
    return True


def mp4_frame(frame: np.ndarray) -> np.ndarray:
    """The frame as it goes into the MP4: nearest-neighbour enlarged by a whole
    factor to a short side of at least MP4_MIN_SIDE, then edge-padded to even
    width and height (yuv420p needs both even). uint8 HxWx3 in and out."""
    h, w = frame.shape[:2]
    factor = max(1, math.ceil(MP4_MIN_SIDE / min(h, w)))
    if factor > 1:
        frame = np.repeat(np.repeat(frame, factor, axis=0), factor, axis=1)
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def frame_delays(count: int, fps: float, tick_ms: int) -> list[int]:
    """Per-frame durations in ms, whole multiples of `tick_ms`, whose running sum
    stays within one tick of the exact time, so 24 fps averages 24 fps even where
    the container cannot store 41.67 ms."""
    ticks_per_second = 1000 / tick_ms
    edges = [round(i * ticks_per_second / fps) for i in range(count + 1)]
    return [max(1, b - a) * tick_ms for a, b in zip(edges, edges[1:])]


def _check_frames(frames: np.ndarray) -> np.ndarray:
    a = np.asarray(frames)
    if a.dtype != np.uint8 or a.ndim != 4 or a.shape[3] not in (3, 4) or 0 in a.shape:
        raise ValueError(f"frames must be uint8 [N,H,W,3 or 4] with N, H, W >= 1, got {a.dtype} {tuple(a.shape)}")
    return flatten(a, (255, 255, 255)) if a.shape[3] == 4 else a


def _pil_frames(frames: np.ndarray, convert: Callable[[np.ndarray], Image.Image],
                report: Progress, stop: Cancelled) -> list[Image.Image]:
    """Frames as PIL images, reporting progress and honouring cancel between frames.
    The last step of progress is left for the encoder, which runs after this."""
    n = len(frames)
    images = []
    for i, frame in enumerate(frames):
        if stop():
            raise _Cancel
        images.append(convert(frame))
        if i + 1 < n:
            report(i + 1, n)
    return images


def _write_gif(tmp: Path, frames: np.ndarray, fps: float, recipe: dict[str, Any] | None,
               report: Progress, stop: Cancelled) -> None:
    n = len(frames)
    # Each frame gets its own 256-colour palette (a local colour table), which
    # keeps colours faithful when the animation travels far in latent space.
    # No dithering: dither noise changes every frame and flickers.
    images = _pil_frames(frames, lambda frame: Image.fromarray(frame).quantize(256), report, stop)
    delays = [max(d, GIF_MIN_DELAY_CS * 10) for d in frame_delays(n, fps, tick_ms=10)]
    options: dict[str, Any] = recipes.embed("GIF", recipe) if recipe is not None else {}
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   loop=0, duration=delays, **options)


def _write_webp(tmp: Path, frames: np.ndarray, fps: float, recipe: dict[str, Any] | None,
                report: Progress, stop: Cancelled) -> None:
    n = len(frames)
    images = _pil_frames(frames, Image.fromarray, report, stop)
    options: dict[str, Any] = recipes.embed("WEBP", recipe) if recipe is not None else {}
    images[0].save(tmp, format="WEBP", save_all=True, append_images=images[1:], loop=0,
                   duration=frame_delays(n, fps, tick_ms=1), quality=WEBP_QUALITY, **options)
    if stop():
        raise _Cancel


def _write_mp4(tmp: Path, frames: np.ndarray, fps: float, recipe: dict[str, Any] | None,
               report: Progress, stop: Cancelled) -> None:
    import imageio_ffmpeg

    n = len(frames)
    h, w = mp4_frame(frames[0]).shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    with tempfile.TemporaryDirectory(prefix="latent-studio-") as scratch:
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                   "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"]
        if recipe is not None:
            # The recipe goes in through a metadata file, not the command line,
            # whose length is capped (32 K characters on Windows).
            meta = Path(scratch) / "recipe.ffmetadata"
            meta.write_text(recipes.to_ffmetadata(recipe), encoding="utf-8")
            command += ["-f", "ffmetadata", "-i", str(meta), "-map_metadata", "1"]
        command += [
            "-map", "0:v", "-an", "-c:v", "libx264", "-preset", "medium", "-crf", str(MP4_CRF),
            # Convert and tag as BT.709 so players do not guess the colour matrix.
            "-vf", "scale=out_color_matrix=bt709:out_range=tv",
            "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(tmp),
        ]
        log_path = Path(scratch) / "ffmpeg.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                    creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
            try:
                assert proc.stdin is not None
                for i, frame in enumerate(frames):
                    if stop():
                        raise _Cancel
                    try:
                        proc.stdin.write(mp4_frame(frame).tobytes())
                    except BrokenPipeError:
                        break  # ffmpeg quit; its log says why, reported below
                    if i + 1 < n:
                        report(i + 1, n)
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                code = proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        if code != 0:
            lines = log_path.read_text("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {code}"
            raise OSError(f"ffmpeg failed: {reason}")


def _write_frame_folder(target: Path, frames: np.ndarray, recipe: dict[str, Any] | None,
                        report: Progress, stop: Cancelled) -> None:
    """Frames into a fresh hidden folder beside `target`, which then takes its place."""
    if target.exists() and not target.is_dir():
        raise ImageError(f"cannot save {target.name}: a file of that name exists, and frames need a folder")
    if target.is_dir():
        strangers = [e.name for e in target.iterdir() if not (_FRAME_FILE.fullmatch(e.name) or e.name == recipes.FOLDER_FILE)]
        if strangers:
            # Replacing the folder would delete these; refuse rather than guess.
            raise ImageError(
                f"cannot save {target.name}: the folder exists and holds other files ({strangers[0]}); "
                "choose an empty or new folder"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    n = len(frames)
    digits = max(4, len(str(n - 1)))
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(new_folder_mode())  # mkdtemp's is private; the frames are for other programs too
    try:
        for i, frame in enumerate(frames):
            if stop():
                raise _Cancel
            file = tmp / f"frame_{i:0{digits}d}.png"
            Image.fromarray(frame).save(file, format="PNG")
            _fsync_file(file)
            if i + 1 < n:
                report(i + 1, n)
        if recipe is not None:
            (tmp / recipes.FOLDER_FILE).write_text(recipes.dump_recipe(recipe, indent=2) + "\n", encoding="utf-8")
            _fsync_file(tmp / recipes.FOLDER_FILE)
        _swap_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_folder(tmp: Path, target: Path) -> None:
    # A folder cannot replace a non-empty folder in one rename, so the old one
    # steps aside first; a crash between the two renames leaves it as
    # .NAME.*.old beside the target, never half-written frames under NAME.
    if not target.exists():
        os.rename(tmp, target)
        return
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
