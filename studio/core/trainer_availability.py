"""Whether this installation can train at all, asked without importing torch.

PyTorch has no wheels for Intel Macs (and pyproject.toml leaves it out there),
so the app installs and runs without the trainer; everything that would start
one (the Train panel, `studio train` and `export`, refinement of a projection)
asks here first and says why in one line.
"""

from __future__ import annotations

from importlib.util import find_spec


def trainer_missing() -> str | None:
    """None when PyTorch is installed, else one line saying what is missing."""
    if find_spec("torch") is not None:
        return None
    return ("training needs PyTorch, which is not installed (it has no build for Intel Macs); "
            "the canvas, styles, inpainting and upscaling work without it")
