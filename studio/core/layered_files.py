"""The two layered file formats behind one pair of calls, chosen by suffix:
our .studio projects (project.py) and OpenRaster (openraster.py), so the app's
Open/Save and `studio convert` treat them alike."""

from __future__ import annotations

import os
from pathlib import Path

from studio.core.document import Document
from studio.core.openraster import SUFFIX as ORA_SUFFIX, load_openraster, write_openraster
from studio.core.project import SUFFIX as PROJECT_SUFFIX, ProjectSnapshot, load_project, write_project

LAYERED_SUFFIXES = (PROJECT_SUFFIX, ORA_SUFFIX)


def is_layered(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in LAYERED_SUFFIXES


def read_layered(path: str | os.PathLike) -> tuple[Document, list[str]]:
    """(the document, notes on what the file held that this app cannot keep).
    Raises ProjectError (one line)."""
    if Path(path).suffix.lower() == ORA_SUFFIX:
        opened = load_openraster(path)
        return opened.document, opened.notes
    return load_project(path), []


def write_layered(snapshot: ProjectSnapshot, path: str | os.PathLike) -> None:
    """Write `snapshot` in the format `path`'s suffix names (.ora, else .studio),
    atomically. Raises ProjectError."""
    if Path(path).suffix.lower() == ORA_SUFFIX:
        write_openraster(snapshot, path)
    else:
        write_project(snapshot, path)
