"""Generators that draw transparency (issue 17): a folder of cut-out figures
(clip art, characters on transparent ground) trains a generator whose
pictures land on the canvas without a box around them.

Such a generator draws four channels: the picture composited on the run's
background (exactly what an RGB run draws, so metrics, sample grids and RGB
base models carry over) and alpha. The colour of a half-transparent pixel is
recovered at use (engine/generator.py) by undoing the composite. --alpha
auto (the default for new runs; tasks/generate.py) keeps alpha when at
least half the folder's usable pictures have transparent pixels; keep and
flatten force it.

A fine-tune whose base draws the other number of channels starts from the
base with its image layers fitted (fit_channels): a new alpha output starts
as the opposite of the colour's mean (ground that is white turns
transparent) and a new alpha input starts ignored.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from studio.train.data import Dataset

AUTO_SHARE = 0.5  # --alpha auto keeps alpha when at least this share of the pictures has transparency


def settle_channels(config: dict, data: Dataset) -> tuple[int, Dataset]:
    """(channels the run draws, the data it trains on) for a run whose
    folder was read with alpha: 4 for --alpha keep, or auto with enough
    transparent pictures; else 3 and the alpha dropped."""
    if "channels" in config:
        channels = int(config["channels"])
    elif config.get("alpha") == "keep":
        channels = 4
    else:
        images = torch.cat([data.train, data.held_out])
        transparent = (images[:, 3].amin(dim=(1, 2)) < 255).float().mean().item() if len(images) else 0.0
        channels = 4 if transparent >= AUTO_SHARE else 3
    if channels == 3:
        data = Dataset(data.train[:, :3], data.held_out[:, :3], data.train_files, data.held_out_files,
                       data.skipped, data.summary)
    return channels, data


@torch.no_grad()
def fit_channels(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load `state` into `module` where the two differ only in the image
    layers' channels: 3 against 4 (or 3 x k against 4 x k where an input
    is folded into channels, the colour first). Rows for a new alpha output
    start as minus the mean of the colour rows; columns for a new alpha
    input start at zero; an alpha the module does not have is dropped.
    Raises ValueError for any other difference (load_state_dict's)."""
    own = module.state_dict()
    fitted = dict(state)
    for key, theirs in state.items():
        mine = own.get(key)
        if mine is None or mine.shape == theirs.shape:
            continue
        fitted[key] = _fitted(theirs, mine.shape, key)
    module.load_state_dict(fitted)


def _fitted(tensor: torch.Tensor, shape: torch.Size, key: str) -> torch.Tensor:
    differing = [d for d in range(tensor.dim()) if tensor.shape[d] != shape[d]]
    if tensor.dim() != len(shape) or len(differing) != 1 or differing[0] > 1:
        raise ValueError(f"{key}: the base has shape {tuple(tensor.shape)}, this run {tuple(shape)}")
    d = differing[0]
    have, want = tensor.shape[d], shape[d]
    if d == 0 and (have, want) == (3, 4):  # an output (weights or bias): alpha as the negated colour mean
        return torch.cat([tensor, -tensor.mean(dim=0, keepdim=True)])
    # The image layers are equalised-lr convs (nets.EqualConv2d), whose
    # run-time scale is 1 / sqrt(inputs): an input's weights are rescaled so
    # that the colour's part of the sum stays what it was.
    rescale = (want / have) ** 0.5 if d == 1 else 1.0
    if d == 1 and have * 4 == want * 3:  # an input of 3 x k channels: alpha unseen at first
        zeros = torch.zeros(shape[0], want - have, *tensor.shape[2:], dtype=tensor.dtype)
        return torch.cat([tensor * rescale, zeros], dim=1)
    if have * 3 == want * 4:  # 4 x k -> 3 x k: alpha dropped (the colour comes first)
        return tensor.narrow(d, 0, want) * rescale
    raise ValueError(f"{key}: the base has shape {tuple(tensor.shape)}, this run {tuple(shape)}")


def on_checkerboard(images: np.ndarray, background: tuple[int, int, int], square: int = 8) -> np.ndarray:
    """float [N,4,H,W] in [-1,1] (colour on `background`, then alpha) ->
    float [N,3,H,W]: the pictures over a light checkerboard, as paint
    programs show transparency, for sample grids. Undoing the composite and
    laying the colour on the board is one step: colour + (1 - a) x (board -
    background)."""
    n, _, h, w = images.shape
    ys, xs = np.indices((h, w))
    board = np.where((ys // square + xs // square) % 2, 0.8, 1.0).astype(np.float32)  # [-1,1]: light greys
    ground = np.asarray(background, np.float32).reshape(3, 1, 1) / 127.5 - 1.0
    transparency = (1.0 - images[:, 3:]) / 2.0  # alpha [-1,1] -> 1 - a in [0,1]
    return images[:, :3] + transparency * (board[None, None] - ground[None])
