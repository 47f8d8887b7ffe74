"""The image folders the generator is judged and based on (issue 12), built
from allowed data only: Noto Color Emoji (fonts-noto-color-emoji) and
openclipart-png (`apt-get install fonts-noto-color-emoji openclipart-png
gnome-backgrounds`).

    python benchmarks/folders.py eval DEST     # DEST/{emoji-persons, clipart-people, clipart-animals}
    python benchmarks/folders.py base DEST     # DEST/{emoji, clipart, gnome-backgrounds}
    python benchmarks/folders.py upscale DEST  # DEST/{emoji, clipart, background-patches}
    python benchmarks/folders.py split DEST    # DEST/clipart-{people, animals}/{train, held-out}
    python benchmarks/folders.py dead-leaves DEST  # DEST/dead-leaves: DEAD_LEAVES made pictures
    python benchmarks/folders.py dead-leaves-soft DEST  # DEST/dead-leaves-soft: SOFT_DEAD_LEAVES, all very soft

Evaluation folders (150-400 varied images each; the trainer holds 5 % out):
- emoji-persons: the 72 person emoji of the font's character map plus 228 of
  their skin-tone / gender ligatures drawn with a fixed seed (301 files with
  dataset.json): faces and figures, one style.
- clipart-people: openclipart's people category (400 files, nested folders):
  figures in every drawing style.
- clipart-animals: openclipart's animals category (316 files).

Upscale folder (--task upscale's base models): the base folder's emoji and
clip art, and instead of the backgrounds (4096 px renders a generator run
sees whole) 128 px patches cut from them at half and a quarter of their size,
PATCHES_PER_SCALE a picture at random: an upscaler learns texture at about
its own scale, and its training pictures must not be enlarged.

Dead leaves (benchmarks/dead_leaves.py): DEAD_LEAVES pictures of
DEAD_LEAVES_SIZE px with a photograph's statistics, made with a fixed seed,
for an upscaler that must also enlarge photos (the allowed data has none);
the soft set, SOFT_DEAD_LEAVES more with another seed, all blurred 3 to 30 px.

Split folders (an upscaler's folder fine-tune, measured on pictures it never
saw): each clip-art evaluation category's files, shuffled with a fixed seed,
HELD_OUT_SHARE of them linked into held-out/ and the rest into train/.

Base folder: everything else that is allowed, so that fine-tuning a base on an
evaluation folder is measured on a folder the base never saw: the emoji minus
every person emoji (all 1,753, not only the 301 above, so no skin-tone twin of
an evaluation image is in the base's data), every openclipart category but
people and animals, and the GNOME backgrounds. Folders are symbolic links
(emoji: copies of the extracted bitmaps) and the trainer follows them.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

from studio.core.datasets import NOTO_EMOJI_PATH, extract_emoji

CLIPART = Path("/usr/share/openclipart/png")
BACKGROUNDS = Path("/usr/share/backgrounds/gnome")
EVAL_CLIPART = ("people", "animals")
HELD_OUT_SHARE = 0.25
PERSON_SAMPLE = 228  # ligatures added to the 72 base person emoji
PATCH = 128
PATCH_SCALES = (0.5, 0.25)
PATCHES_PER_SCALE = 64
DEAD_LEAVES = 3000
DEAD_LEAVES_SIZE = 256
SOFT_DEAD_LEAVES = 3000
# Person emoji code points: people, gestures, roles and activities of a person.
PERSON_RANGES = ((0x1F466, 0x1F478), (0x1F481, 0x1F487), (0x1F645, 0x1F64F), (0x1F9D1, 0x1F9DD),
                 (0x1F934, 0x1F939), (0x1F9CD, 0x1F9CF))
PERSON_SINGLES = {0x1F47C, 0x1F3C3, 0x1F3C4, 0x1F3CA, 0x1F6B6, 0x1F930, 0x1F931, 0x1F926, 0x1F93D, 0x1F93E,
                  0x1F575, 0x1F9B8, 0x1F9B9}


def is_person(codepoint: int) -> bool:
    return codepoint in PERSON_SINGLES or any(lo <= codepoint <= hi for lo, hi in PERSON_RANGES)


def person_glyphs(font_path: Path = NOTO_EMOJI_PATH) -> tuple[set[str], set[str]]:
    """(glyph names mapped to a person code point, names of the ligatures
    starting with one: skin tones, genders, professions)."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(font_path), lazy=True)
    singles = {glyph for cp, glyph in font.getBestCmap().items() if is_person(cp)}
    ligatures: set[str] = set()
    for lookup in font["GSUB"].table.LookupList.Lookup:
        for sub in lookup.SubTable:
            sub = getattr(sub, "ExtSubTable", sub)
            if getattr(sub, "LookupType", None) == 4:
                for first, ligs in sub.ligatures.items():
                    if first in singles:
                        ligatures.update(lig.LigGlyph for lig in ligs)
    return singles, ligatures - singles


def build_eval(dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        extract_emoji(tmp)
        singles, ligatures = person_glyphs()
        available = {p.stem for p in Path(tmp).glob("*.png")}
        chosen = sorted(singles & available)
        extra = sorted(ligatures & available)
        random.Random(0).shuffle(extra)
        persons = dest / "emoji-persons"
        persons.mkdir(parents=True, exist_ok=True)
        for name in chosen + extra[:PERSON_SAMPLE]:
            shutil.copy(Path(tmp) / f"{name}.png", persons / f"{name}.png")
        shutil.copy(Path(tmp) / "dataset.json", persons / "dataset.json")
    for category in EVAL_CLIPART:
        _link(CLIPART / category, dest / f"clipart-{category}")


def build_base(dest: Path) -> None:
    singles, ligatures = person_glyphs()
    persons = singles | ligatures
    emoji = dest / "emoji"
    extract_emoji(emoji)
    for png in emoji.glob("*.png"):
        if png.stem in persons:
            png.unlink()
    clipart = dest / "clipart"
    clipart.mkdir(parents=True, exist_ok=True)
    for category in sorted(CLIPART.iterdir()):
        if category.is_dir() and category.name not in EVAL_CLIPART:
            _link(category, clipart / category.name)
    _link(BACKGROUNDS, dest / "gnome-backgrounds")


def build_upscale(dest: Path) -> None:
    import cv2

    from studio.core.imageio import ImageError, load_image, save_image

    build_base(dest)
    (dest / "gnome-backgrounds").unlink()
    patches = dest / "background-patches"
    patches.mkdir(exist_ok=True)
    rng = random.Random(0)
    for picture in sorted(BACKGROUNDS.iterdir()):
        try:
            image = load_image(picture)
        except ImageError:
            continue  # the SVGs: nothing to cut
        for scale in PATCH_SCALES:
            h, w = (round(side * scale) for side in image.shape[:2])
            if min(h, w) < PATCH:
                continue
            small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            cells = [(y, x) for y in range(0, h - PATCH + 1, PATCH) for x in range(0, w - PATCH + 1, PATCH)]
            for y, x in rng.sample(cells, min(PATCHES_PER_SCALE, len(cells))):
                save_image(patches / f"{picture.stem}-{scale:g}-{y}-{x}.png", small[y:y + PATCH, x:x + PATCH])


def build_split(dest: Path) -> None:
    from studio.core.imageio import IMAGE_SUFFIXES

    for category in EVAL_CLIPART:
        if not (CLIPART / category).is_dir():
            sys.exit(f"error: {CLIPART / category} not found (apt-get install openclipart-png)")
        files = sorted(p for p in (CLIPART / category).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        random.Random(0).shuffle(files)
        cut = round(len(files) * HELD_OUT_SHARE)
        for part, chosen in (("held-out", files[:cut]), ("train", files[cut:])):
            folder = dest / f"clipart-{category}" / part
            folder.mkdir(parents=True, exist_ok=True)
            for path in chosen:  # flattened: the same file name can sit in two subfolders
                link = folder / "-".join(path.relative_to(CLIPART / category).parts)
                if not link.exists():
                    link.symlink_to(path)


def build_dead_leaves(dest: Path, name: str = "dead-leaves", count: int = DEAD_LEAVES, seed: int = 0,
                      soft: bool = False) -> None:
    import numpy as np
    from dead_leaves import BLUR, SOFT_BLUR, dead_leaves

    from studio.core.imageio import save_image

    folder = dest / name
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for number in range(count):
        save_image(folder / f"{number:05d}.png", dead_leaves(DEAD_LEAVES_SIZE, rng, SOFT_BLUR if soft else BLUR))


def build_soft_dead_leaves(dest: Path) -> None:
    build_dead_leaves(dest, "dead-leaves-soft", SOFT_DEAD_LEAVES, seed=1, soft=True)


def _link(source: Path, link: Path) -> None:
    if not source.is_dir():
        sys.exit(f"error: {source} not found (apt-get install openclipart-png gnome-backgrounds)")
    if not link.exists():
        link.symlink_to(source, target_is_directory=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    builders = {"eval": build_eval, "base": build_base, "upscale": build_upscale, "split": build_split,
                "dead-leaves": build_dead_leaves, "dead-leaves-soft": build_soft_dead_leaves}
    parser.add_argument("which", choices=builders)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    builders[args.which](args.dest)


if __name__ == "__main__":
    main()
