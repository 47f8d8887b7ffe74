"""The readers of hostile files, given generated damage (damage.py): every
picture format, .studio projects, OpenRaster files and model manifests.
Damage may leave a file readable (a changed byte in the pixels of a JPEG);
what may never happen is anything but a good result or the reader's own
one-line error: no other exception, and nothing printed, not even by a
decoder's C code (capfd reads the process's own stderr)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from damage import PICTURE_FORMATS, damaged_layered, damaged_picture, tampered_manifest
from inpaint_factory import constant_fill_onnx, inpaint_manifest
from model_factory import generator_manifest, tiny_generator_onnx, write_model

from studio.cli import main
from studio.core.imageio import ImageError, load_image
from studio.core.layered_archive import ProjectError
from studio.core.openraster import load_openraster
from studio.core.project import load_project
from studio.engine.registry import Registry


class Outcomes:
    """What a reader made of each damaged file: read, refused in one line
    (`prefix` first), or something else, kept to be reported."""

    def __init__(self, capfd, error: type[Exception], prefix: str):
        self.capfd, self.error, self.prefix = capfd, error, prefix
        self.read = self.refused = 0
        self.problems: list[str] = []

    def judge(self, label: str, read, check_result) -> None:
        self.capfd.readouterr()
        wrong = []
        try:
            check_result(read())
            self.read += 1
        except self.error as exc:
            text = str(exc)
            if "\n" in text or not text.startswith(self.prefix):
                wrong.append(f"refused as {text!r}")
            self.refused += 1
        except Exception as exc:
            wrong.append(f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:160]}")
        out, err = self.capfd.readouterr()
        if out or err:
            wrong.append(f"printed {(out + err)[:300]!r}")
        if wrong:
            self.problems.append(f"{label}: {'; '.join(wrong)}")

    def assert_clean(self, tries: int) -> None:
        assert not self.problems, (f"{len(self.problems)} of {tries} damaged files (read {self.read}, refused "
                                   f"{self.refused}) went wrong:\n" + "\n".join(self.problems))
        assert self.refused > tries // 3  # the damage is real: most of it must be refused


def rgba(image) -> None:
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4


@pytest.mark.parametrize("suffix", [*PICTURE_FORMATS, ".avif"])
def test_pictures(capfd, tmp_path, suffix):
    rng = random.Random(f"picture{suffix}")
    outcomes = Outcomes(capfd, ImageError, "cannot read ")
    tries = 60 if suffix != ".avif" else 20  # an AVIF can only be broken here: Pillow writes none without an encoder
    for number in range(tries):
        label, data = damaged_picture(rng, suffix) if suffix != ".avif" else (
            "signature + noise", b"\x00\x00\x00\x1cftypavif" + rng.randbytes(rng.randint(0, 400)))
        path = tmp_path / f"{number}{suffix}"
        path.write_bytes(data)
        outcomes.judge(f"{path.name} {label}", lambda: load_image(path), rgba)
    outcomes.assert_clean(tries)


@pytest.mark.parametrize("suffix, load", [(".studio", load_project),
                                          (".ora", lambda path: load_openraster(path).document)])
def test_layered_files(capfd, tmp_path, suffix, load):
    rng = random.Random(f"layered{suffix}")
    outcomes = Outcomes(capfd, ProjectError, "cannot open ")
    tries = 120
    for number in range(tries):
        label, data = damaged_layered(rng, suffix)
        path = tmp_path / f"{number}{suffix}"
        path.write_bytes(data)
        outcomes.judge(f"{path.name} {label}", lambda: load(path),
                       lambda doc: [rgba(layer.pixels) for layer in doc.layers])
    outcomes.assert_clean(tries)


@pytest.mark.parametrize("kind", ["generator", "inpaint"])
def test_model_manifests(capfd, user_dir, world, kind):
    """A tampered manifest never breaks the model list; a model the list calls
    usable works, one it skips is refused by the command in one line."""
    rng = random.Random(f"manifest-{kind}")
    root = user_dir / "models"
    onnx_bytes = tiny_generator_onnx() if kind == "generator" else constant_fill_onnx()
    manifest = (generator_manifest("tiny", onnx_bytes) if kind == "generator"
                else inpaint_manifest("tiny", onnx_bytes))
    folder = write_model(root, "tiny", onnx_bytes, manifest)
    command = (["generate", "--seed", "1"] if kind == "generator"
               else ["inpaint", str(world.photo), "--mask", str(world.mask)])
    problems, usable, tries = [], 0, 40
    for number in range(tries):
        label, text = tampered_manifest(rng, manifest)
        (folder / "manifest.json").write_bytes(text)
        capfd.readouterr()
        try:
            entry = next(e for e in Registry([root]).entries(usable_only=False) if e.folder == folder)
        except Exception as exc:
            problems.append(f"{label}: the model list raised {type(exc).__name__}: {exc}")
            continue
        output = world.out / f"{number}.png"
        code = main([*command, "--model", entry.name if entry.usable else "tiny", "-o", str(output)])
        out, err = capfd.readouterr()
        if entry.usable:
            usable += 1
            if code != 0 or not output.is_file():
                problems.append(f"{label}: listed as usable, but the command said {code} {err!r}")
        elif "\n" in entry.reason or not entry.reason:
            problems.append(f"{label}: skipped with the reason {entry.reason!r}")
        elif code != 2 or len(err.splitlines()) != 1 or not err.startswith("error: ") or output.exists():
            problems.append(f"{label}: skipped ({entry.reason}), but the command said {code} {err!r}")
        if main(["models", "--json"]) != 0 or not json.loads(capfd.readouterr().out):
            problems.append(f"{label}: studio models failed")
    assert not problems, f"{len(problems)} of {tries} tampered manifests went wrong:\n" + "\n".join(problems)
    assert usable < tries // 2  # most tampering is refused
