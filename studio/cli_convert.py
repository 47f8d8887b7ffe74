"""`studio convert`: between layered files (.studio, OpenRaster .ora) and flat
images (PNG, JPEG, WebP, TIFF: the visible composite, with the document's
recipe), a file or a folder of them, for scripts.

    studio convert painting.studio -o painting.ora     # open it in Krita, GIMP or MyPaint
    studio convert painting.ora -o painting.png        # the composite
    studio convert photo.jpg -o photo.studio           # one layer
    studio convert projects/ --to ora -o for-krita/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.core.arguments import path_name
from studio.core.imageio import IMAGE_SUFFIXES

FORMATS = ("studio", "ora", "png", "jpg", "webp", "tif")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=path_name,
                   help="a .studio, .ora or image file, or a folder of them (then -o is a folder)")
    p.add_argument("-o", "--output", required=True, type=path_name,
                   help="the converted file (its suffix says the format) or folder")
    p.add_argument("--to", choices=FORMATS, help="the format of a folder's conversions (with a folder input)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args, fail, report) -> int:
    """fail(message) raises the CLI's one-line error; report(facts) prints the result."""
    from studio.core.imageio import ImageError
    from studio.core.layered_files import LAYERED_SUFFIXES
    from studio.core.project import ProjectError

    source, target = Path(args.input), Path(args.output)
    if not source.exists():
        fail(f"no such file or folder: {source}")
    readable = LAYERED_SUFFIXES + tuple(IMAGE_SUFFIXES)
    if source.is_dir():
        if args.to is None:
            fail("converting a folder needs --to (one of: " + ", ".join(FORMATS) + ")")
        jobs = [(f, target / f"{f.stem}.{args.to}") for f in sorted(source.iterdir())
                if f.is_file() and f.suffix.lower() in readable]
        if not jobs:
            fail(f"{source} holds no .studio, .ora or image files")
    else:
        if args.to is not None and target.suffix.lower() != f".{args.to}":
            fail(f"--to {args.to} does not match the output {target.name}; give one or the other")
        jobs = [(source, target)]
    for _, dst in jobs:
        if dst.suffix.lower() not in readable:
            fail(f"cannot write {dst.name}: use .studio, .ora, .png, .jpg, .webp or .tif")
    notes = []
    try:
        for src, dst in jobs:
            document, read_notes = read_document(src)
            write_document(document, dst)
            notes += [f"{src.name}: {note}" for note in read_notes]
    except (ProjectError, ImageError, ValueError) as exc:  # an OSError is left to cli.main(): it names the path
        fail(str(exc))
    report({"output": str(jobs[0][1]) if len(jobs) == 1 else str(target), "files": len(jobs), "notes": notes})
    return 0


def read_document(path: Path):
    """(Document, notes on what could not be kept) from a .studio, .ora or image file."""
    from studio.core.document import Document
    from studio.core.imageio import load_image
    from studio.core.layered_files import is_layered, read_layered

    if is_layered(path):
        return read_layered(path)
    return Document.from_image(load_image(path), path.stem), []


def write_document(document, path: Path) -> None:
    from studio.core.export import export_document
    from studio.core.layered_files import is_layered, write_layered
    from studio.core.project import capture_project

    if is_layered(path):
        write_layered(capture_project(document), path)
    else:
        export_document(document, path)
