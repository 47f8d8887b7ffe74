"""The one door every model file goes through.

A model is a folder NAME/ holding model.onnx and manifest.json (plus optional
checkpoint.safetensors and samples.png, and companion networks the manifest
describes in an entry of their own, such as a generator's "encoder").
Shipped models live in models/ at the top of the tree, the user's own in the
user data folder. Every model is checked (manifest against its schema in
engine/manifest.py, file size, sha256, ONNX signature) before anything may
run it; a bad one is listed with one reason and skipped, never raised into
the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.atomic import atomic_write_text
from studio.core.paths import cache_root, shipped_models_dir, user_models_dir
from studio.engine.manifest_file import DEFAULT_ONNX, MANIFEST, ManifestError, claimed_identity, load_manifest
from studio.engine.runtime import inspect_model

# Networks that can travel beside a model's own, each a manifest entry with
# file, sha256, inputs and outputs, checked like model.onnx. A bad one leaves
# the model usable without it (ModelEntry.companion says why).
COMPANIONS = ("encoder",)
# protobuf cannot hold a message of 2 GiB, so no single-file ONNX model is
# that large: a bigger file is refused from its size, before a byte of it is
# hashed (a 4.5 GiB sparse file took 26 s and 4.7 GB to refuse by its hash).
MAX_MODEL_BYTES = 2 << 30
HASH_CHUNK = 1 << 20


class ModelError(Exception):
    """A model that cannot be found or used; str() is one line."""


@dataclass
class ModelEntry:
    name: str
    kind: str
    folder: Path
    status: str  # "ok" | "skipped"
    reason: str = ""  # why skipped; "" when ok
    manifest: dict = field(default_factory=dict)
    sha256: str = ""
    companions: dict[str, Path | str] = field(default_factory=dict)  # role -> checked file, or why it is unusable

    @property
    def usable(self) -> bool:
        return self.status == "ok"

    @property
    def onnx_path(self) -> Path:
        return self.folder / self.manifest.get("files", {}).get("onnx", DEFAULT_ONNX)

    def file(self, role: str) -> Path | None:
        """Path of an optional file named in the manifest ("checkpoint", "samples"), if present."""
        name = self.manifest.get("files", {}).get(role)
        path = self.folder / name if name else None
        return path if path is not None and path.is_file() else None

    def companion(self, role: str) -> Path:
        """The checked file of companion `role` ("encoder"); ModelError says why there is none."""
        found = self.companions.get(role)
        if isinstance(found, Path):
            return found
        raise ModelError(f"model '{self.name}' has no usable {role}: {found or 'none was trained with it'}")

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status, "reason": self.reason,
                "version": self.manifest.get("version", ""), "sha256": self.sha256, "folder": str(self.folder)}


class Registry:
    """Models found in `folders` (default: shipped models/, then the user's)."""

    def __init__(self, folders: list[Path] | None = None):
        self.folders = [Path(f) for f in folders] if folders is not None else [shipped_models_dir(), user_models_dir()]
        self._entries: list[ModelEntry] = []
        # Hashing and opening an .onnx is the slow part of a scan (a quarter of
        # a second for the shipped models, at every one-shot command): the
        # verdict on a file is kept, here and in the user's cache folder,
        # until its size or mtime changes.
        self._verified: dict[str, tuple[tuple[str, str], tuple[str, str]]] = _load_verdicts()
        self._known = dict(self._verified)
        self.scan()

    def scan(self) -> list[ModelEntry]:
        """Re-read every folder (call again to pick up models exported meanwhile)."""
        entries: list[ModelEntry] = []
        seen: dict[str, Path] = {}
        for root in self.folders:
            if not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                entry = self._check(folder)
                if entry.usable and entry.name in seen:
                    entry.status, entry.reason = "skipped", f"duplicate name; already provided by {seen[entry.name]}"
                elif entry.usable:
                    seen[entry.name] = folder
                entries.append(entry)
        self._entries = entries
        if self._verified != self._known:
            _save_verdicts(self._verified)
            self._known = dict(self._verified)
        return list(entries)

    def entries(self, kind: str | None = None, usable_only: bool = True) -> list[ModelEntry]:
        return [e for e in self._entries if (kind is None or e.kind == kind) and (e.usable or not usable_only)]

    def get(self, name: str, kind: str | None = None) -> ModelEntry:
        """The usable model called `name`; ModelError says why not."""
        named = [e for e in self._entries if e.name == name and (kind is None or e.kind in (kind, "?"))]
        for entry in named:
            if entry.usable:
                return entry
        if named:
            raise ModelError(f"model '{name}' is unusable: {named[0].reason}")
        known = ", ".join(e.name for e in self.entries(kind)) or "none"
        raise ModelError(f"unknown model '{name}' (available: {known})")

    def _check(self, folder: Path) -> ModelEntry:
        entry = ModelEntry(name=folder.name, kind="?", folder=folder, status="skipped")
        try:
            manifest = load_manifest(folder)
            name, kind = claimed_identity(manifest)
            entry.name, entry.kind = name or entry.name, kind or entry.kind
            entry.manifest = self._checked(folder, manifest)
            onnx_path = entry.onnx_path
            if not onnx_path.is_file():
                raise ModelError(f"{onnx_path.name} is missing")
            entry.sha256, problem = self._verify(onnx_path, entry.manifest)
            if problem:
                raise ModelError(problem)
        except (ManifestError, ModelError) as exc:
            entry.reason = str(exc)
            return entry
        entry.status = "ok"
        entry.companions = {role: self._companion(folder, role, entry.manifest)
                            for role in COMPANIONS if role in entry.manifest}
        return entry

    def _checked(self, folder: Path, manifest: dict, role: str = "") -> dict:
        """`manifest` (or its companion entry `role`) when it fits the schema,
        else ManifestError. The verdict is kept like a model file's, keyed by
        the manifest file and where the files it names lead."""
        key = _manifest_key(folder, manifest, role)
        cached = self._verified.get(key)
        if cached is None:
            # The schema (pydantic) is imported only for a new or changed manifest.
            from studio.engine.manifest import check_companion, check_manifest

            try:
                check_companion(role, manifest[role], folder) if role else check_manifest(manifest, folder)
                reason = ""
            except ManifestError as exc:
                reason = str(exc)
            cached = self._verified[key] = (("manifest", role), ("", reason))
        if cached[1][1]:
            raise ManifestError(cached[1][1])
        return manifest

    def _companion(self, folder: Path, role: str, manifest: dict) -> Path | str:
        """A companion's checked file, or why it cannot be used."""
        try:
            self._checked(folder, manifest, role)
        except ManifestError as exc:
            return str(exc)
        spec = manifest[role]
        path = folder / spec["file"]
        if not path.is_file():
            return f"{path.name} is missing"
        problem = self._verify(path, spec)[1]
        return problem or path

    def _verify(self, onnx_path: Path, manifest: dict) -> tuple[str, str]:
        """(sha256, problem or "") for a model file against its manifest."""
        stat = onnx_path.stat()
        if stat.st_size >= MAX_MODEL_BYTES:
            return "", f"{onnx_path.name} is {stat.st_size / 2**30:.1f} GiB, over the 2 GiB an ONNX file can hold"
        key = f"{onnx_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        expected = (str(manifest["sha256"]).lower(), json.dumps([manifest["inputs"], manifest["outputs"]]))
        cached = self._verified.get(key)
        if cached is not None and tuple(cached[0]) == expected:
            return tuple(cached[1])
        try:
            digest = _sha256(onnx_path)
            # Held in memory only once the hash matched: a wrong file costs one streamed pass.
            data = onnx_path.read_bytes() if digest == expected[0] else b""
        except OSError as exc:  # not cached: a permission fixed is seen at the next scan
            return "", f"{onnx_path.name} cannot be read ({(exc.strerror or 'error').lower()})"
        if digest != expected[0]:
            problem = f"{onnx_path.name} does not match the sha256 in its manifest (changed or corrupt)"
        else:
            problem = _signature_problem(data, manifest)
        self._verified[key] = (expected, (digest, problem))
        return digest, problem


def _manifest_key(folder: Path, manifest: dict, role: str) -> str:
    """The verdicts' key for a manifest (or its companion `role`):
    file|size|mtime, the mtime part joined with a digest of where each file
    it names resolves to (a link changed to lead out is a new key)."""
    path = folder / MANIFEST
    stat = path.stat()
    named = [manifest.get("files"), (manifest.get(role) or {}) if role else None]
    targets = [DEFAULT_ONNX] + [v for part in named if isinstance(part, dict) for v in part.values()]
    leads = []
    for name in targets:
        try:
            leads.append(str((folder / name).resolve()) if isinstance(name, str) else repr(name))
        except (OSError, ValueError, RuntimeError):  # a NUL in the name, a loop of links
            leads.append(repr(name))
    digest = hashlib.sha256("\n".join([role, *leads]).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}:{digest}"


def _verdicts_path() -> Path:
    return cache_root() / "model-verdicts.json"


def _load_verdicts() -> dict:
    """The kept verdicts: {file|size|mtime: [[sha256, signature], [digest, problem]]}; {} when unreadable."""
    try:
        kept = json.loads(_verdicts_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {key: value for key, value in kept.items() if isinstance(key, str) and isinstance(value, list)
            and len(value) == 2 and all(isinstance(pair, list) and len(pair) == 2
                                        and all(isinstance(v, str) for v in pair) for pair in value)}


def _save_verdicts(verdicts: dict) -> None:
    """Kept for files that still exist (models deleted since are forgotten)."""
    alive = {key: value for key, value in verdicts.items() if Path(key.rsplit("|", 2)[0]).is_file()}
    with contextlib.suppress(OSError):  # a read-only cache only costs the next scan the work again
        atomic_write_text(_verdicts_path(), json.dumps(alive))


def _sha256(path: Path) -> str:
    """Hex sha256 of a file read in chunks; "" when it grows past MAX_MODEL_BYTES while read."""
    digest, total = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            total += len(chunk)
            if total >= MAX_MODEL_BYTES:
                return ""
            digest.update(chunk)
    return digest.hexdigest()


def _signature_problem(data: bytes, manifest: dict) -> str:
    """"" when the ONNX graph's inputs/outputs are the manifest's, else why not."""
    try:
        inputs, outputs = inspect_model(data)
    except Exception as exc:  # onnxruntime raises several types for bad files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not a loadable ONNX model ({first_line[:160]})"
    for role, actual in (("inputs", inputs), ("outputs", outputs)):
        declared = manifest[role]
        if [t.name for t in actual] != [s["name"] for s in declared]:
            return (f"ONNX {role} {[t.name for t in actual]} do not match the manifest's "
                    f"{[s['name'] for s in declared]} (foreign or wrong model)")
        for tensor, spec in zip(actual, declared):
            if "dtype" in spec and spec["dtype"] != tensor.dtype:
                return f"ONNX {role[:-1]} '{tensor.name}' is {tensor.dtype}, manifest says {spec['dtype']}"
            shape = spec.get("shape")
            if shape is not None and not _shapes_agree(tensor.shape, shape):
                return f"ONNX {role[:-1]} '{tensor.name}' has shape {list(tensor.shape)}, manifest says {shape}"
            fixed = _fixed_where_dynamic(tensor.shape, shape or [])
            if fixed:
                return (f"ONNX {role[:-1]} '{tensor.name}' has shape {list(tensor.shape)}: axis '{fixed}' is "
                        f"fixed where the manifest says it is dynamic")
    return ""


def _shapes_agree(actual: tuple, declared: list) -> bool:
    # A dynamic axis in the ONNX accepts anything the manifest declares; fixed sizes must be equal.
    if len(actual) != len(declared):
        return False
    return all(not isinstance(a, int) or not isinstance(d, int) or a == d for a, d in zip(actual, declared))


def _fixed_where_dynamic(actual: tuple, declared: list) -> str:
    """The first axis the manifest names (dynamic: "batch", "h", "w") that the
    graph fixes to a size, else "". Such a model would load and then fail on
    the first image of another size, so it is refused at the door."""
    for a, d in zip(actual, declared):
        if isinstance(d, str) and isinstance(a, int) and a > 0:
            return d
    return ""
