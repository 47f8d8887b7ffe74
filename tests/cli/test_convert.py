"""`studio convert` between .studio, .ora and flat images, files and folders."""

from __future__ import annotations

import json

import numpy as np
from layered_factory import layered_document
from test_cli import assert_one_error_line, run_cli

from studio.core.imageio import load_image, save_image
from studio.core.openraster import load_openraster
from studio.core.project import load_project, save_project


def test_a_project_goes_to_openraster_and_back_unchanged(capsys, tmp_path):
    doc = layered_document()
    save_project(doc, tmp_path / "a.studio")
    code, out, err = run_cli(capsys, "convert", str(tmp_path / "a.studio"), "-o", str(tmp_path / "a.ora"))
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'a.ora'}", err
    code, _, err = run_cli(capsys, "convert", str(tmp_path / "a.ora"), "-o", str(tmp_path / "b.studio"))
    assert code == 0, err
    back = load_project(tmp_path / "b.studio")
    for mine, theirs in zip(doc.layers, back.layers, strict=True):
        assert (theirs.name, theirs.opacity, theirs.blend, theirs.locked, theirs.recipe) == \
            (mine.name, mine.opacity, mine.blend, mine.locked, mine.recipe)
        assert np.array_equal(theirs.pixels, mine.pixels)
    assert np.array_equal(back.mask, doc.mask)

    code, _, err = run_cli(capsys, "convert", str(tmp_path / "a.ora"), "-o", str(tmp_path / "flat.png"))
    assert code == 0, err
    assert np.array_equal(load_image(tmp_path / "flat.png"), doc.composite())


def test_a_folder_converts_every_file_it_can_read(capsys, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    save_project(layered_document(), source / "one.studio")
    save_image(source / "two.png", np.full((8, 12, 3), 40, np.uint8))
    (source / "notes.txt").write_text("skipped")
    code, out, err = run_cli(capsys, "convert", str(source), "--to", "ora", "-o", str(tmp_path / "out"), "--json")
    assert code == 0, err
    assert json.loads(out)["files"] == 2
    assert load_openraster(tmp_path / "out" / "two.ora").document.layers[0].name == "two"
    assert len(load_openraster(tmp_path / "out" / "one.ora").document.layers) == 4


def test_bad_conversions_are_one_error_line(capsys, tmp_path):
    save_image(tmp_path / "p.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "broken.ora").write_bytes(b"PK\x03\x04 and then nothing")
    cases = [(["convert", str(tmp_path / "none.studio"), "-o", "x.ora"], "no such file or folder"),
             (["convert", str(tmp_path), "-o", str(tmp_path / "o")], "needs --to"),
             (["convert", str(tmp_path / "p.png"), "-o", str(tmp_path / "p.psd")], "use .studio, .ora"),
             (["convert", str(tmp_path / "p.png"), "--to", "ora", "-o", str(tmp_path / "p.png2")], "does not match"),
             (["convert", str(tmp_path / "broken.ora"), "-o", str(tmp_path / "b.png")], "cannot open broken.ora")]
    for argv, needle in cases:
        code, _, err = run_cli(capsys, *argv)
        assert_one_error_line(code, err, needle)
