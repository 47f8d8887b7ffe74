"""A model's manifest.json: its format, its limits, and the schema that checks it.

Format 1, a JSON object (fields this module does not name are kept and
ignored: training facts, sources, notes):

    kind          one of KINDS
    name          letters, digits, '-', '_', '.'; at most 64, as `studio export` writes
    version, licence                  text; description, attribution: text, optional
    sha256        64 hex digits: the ONNX file's
    inputs, outputs  1..16 tensors {name, dtype?, shape?, range?}, names unique;
                  shape: 1..8 axes, each a size 1..65536 or an axis name ("batch",
                  "h", "width*4"); range: [low, high] (finite, low < high) or a note
    files         {role: file name}: "onnx" (default model.onnx), "checkpoint",
                  "samples", licences...; every name stays inside the model's
                  folder (no absolute path, no "..", no link leading out)
    channels      3 (RGB, the default) or 4 (RGBA)
    training      {arch?: text, width?: number > 0, ...}; base_model: true or false

and per kind what its engine reads:

    generator        latent_size 1..4096 and resolution 4..4096, each stated or
                     the last axis of the latent input / image output (where both
                     are given they agree); the image's range numbers;
                     channels as the image's axis 1; background: "#rrggbb"
    inpaint          an image and a mask input (two or more inputs); resolution
                     4..4096 (or the image input's last axis); the image's input
                     and output ranges numbers; prefill: {method: text}
    upscale          scale in UPSCALE_FACTORS, margin 0..1024 px
    style            an image and a weights input; style_count 1..1024 (or the
                     weights' first axis); style_names: texts
    style-predict    input_size 4..4096 (or the image input's axis 1)
    style-transform  a content and a vector input; the vector's shape all sizes

A companion network (a generator's "encoder": file, sha256, inputs, outputs,
fit?, background?) is checked on its own by check_companion: a bad one costs
the model only that network.

Reading is bounded (manifest_file.py): a manifest over MAX_MANIFEST_BYTES
or nested deeper than Python's json can parse is one reason, not an
exception the app meets. Checked with pydantic (strict: "128", 128.0 and true are not sizes), so that
cross-field rules (low < high, a stated size agreeing with its shape, a file
inside its folder) live in the schema beside the types.
"""

from __future__ import annotations

import math
import re
import reprlib
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints,
                      ValidationError, ValidationInfo, WrapValidator, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from studio.engine.manifest_file import (DEFAULT_ONNX, KINDS, MANIFEST, NAME_PATTERN, ManifestError, load_manifest,
                                         one_line)

# Factors of published super-resolution networks; the trainer makes x2 and x4.
UPSCALE_FACTORS = (2, 3, 4, 8)


# -- field types ----------------------------------------------------------------

Text = Annotated[str, StringConstraints(max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]
ModelName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
Size = Annotated[int, Field(ge=1, le=1 << 16)]
LATENT_SIZES = (1, 4096)
SIDES = (4, 4096)  # px of the square a network makes or takes
STYLE_COUNTS = (1, 1024)
LatentSize = Annotated[int, Field(ge=LATENT_SIZES[0], le=LATENT_SIZES[1])]
Side = Annotated[int, Field(ge=SIDES[0], le=SIDES[1])]
StyleCount = Annotated[int, Field(ge=STYLE_COUNTS[0], le=STYLE_COUNTS[1])]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


def _one_error(code: str, expected: str):
    """A wrap validator that reports a union's failure as one error saying
    what was expected (pydantic would list one error per member)."""
    def wrap(value, handler):
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(code, f"should be {expected}") from None
    return WrapValidator(wrap)


def _ascending(pair: list[float]) -> list[float]:
    if not pair[0] < pair[1]:
        raise ValueError(f"range {pair} should be [low, high] with low < high")
    return pair


NumberRange = Annotated[list[Finite], Field(min_length=2, max_length=2), AfterValidator(_ascending)]
Range = Annotated[NumberRange | ShortText, _one_error("range", "[low, high] (finite, low < high) or a note")]
Axis = Annotated[Size | Annotated[str, StringConstraints(min_length=1, max_length=32)],
                 _one_error("axis", "a size 1..65536 or an axis name")]
Shape = Annotated[list[Axis], Field(min_length=1, max_length=8)]


def _inside_folder(name: str, info: ValidationInfo) -> str:
    """`name` when it names a path inside the model's folder (context["folder"])."""
    folder = Path(info.context["folder"])
    parts = name.replace("\\", "/").split("/")
    if Path(name).is_absolute() or PureWindowsPath(name).anchor or ".." in parts or "\x00" in name:
        raise ValueError(f"{name!r} is outside the model's folder")
    try:
        inside = (folder / name).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        inside = False
    if not inside:
        raise ValueError(f"{name!r} is outside the model's folder (a link leads out)")
    return name


FileName = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_inside_folder)]
Role = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# -- the schema ------------------------------------------------------------------

# Strict: JSON gives true types, and "128", 128.0 or true where a size belongs
# is a tampered or hand-broken manifest. extra="allow": notes and facts the
# engine does not read travel along unchecked.
STRICT = ConfigDict(strict=True, extra="allow")


class TensorSpec(BaseModel):
    model_config = STRICT
    name: ShortText
    dtype: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    shape: Shape | None = None
    range: Range | None = None


Tensors = Annotated[list[TensorSpec], Field(min_length=1, max_length=16)]


class Training(BaseModel):
    model_config = STRICT
    arch: ShortText | None = None
    width: Annotated[float, Field(gt=0, le=16)] | None = None


class Manifest(BaseModel):
    """What every kind of model states."""
    model_config = STRICT
    format: Literal[1] = 1
    kind: Literal[KINDS]
    name: ModelName
    version: ShortText
    description: Text | None = None
    licence: Text
    attribution: Text | None = None
    sha256: Sha256
    inputs: Tensors
    outputs: Tensors
    files: dict[Role, FileName] = {}
    channels: Literal[3, 4] | None = None
    training: Training | None = None
    base_model: bool | None = None

    @field_validator("inputs", "outputs")
    @classmethod
    def _unique_names(cls, specs: list[TensorSpec]) -> list[TensorSpec]:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"tensor names {names} should be unique")
        return specs

    @model_validator(mode="after")
    def _default_onnx_inside(self, info: ValidationInfo):
        # The file a manifest does not name must stay inside the folder too (a link named model.onnx).
        if "onnx" not in self.files:
            _inside_folder(DEFAULT_ONNX, info)
        return self


def _axis(spec: TensorSpec, index: int):
    """The spec's axis `index` (negative from the end), or None when it has no such axis."""
    shape = spec.shape or []
    return shape[index] if -len(shape) <= index < len(shape) else None


def _size(stated: int | None, spec: TensorSpec, index: int, field: str, where: str,
          bounds: tuple[int, int]) -> int:
    """A size the manifest states as `field` (checked by its type), else as
    axis `index` of a tensor, within `bounds`; where both are given they agree."""
    axis = _axis(spec, index)
    if stated is not None:
        if isinstance(axis, int) and axis != stated:
            raise ValueError(f"{field} {stated} disagrees with {where}'s shape {spec.shape}")
        return stated
    if not isinstance(axis, int):
        raise ValueError(f"it states no {field}, and {where}'s shape {spec.shape} does not give it")
    if not bounds[0] <= axis <= bounds[1]:
        raise ValueError(f"{where}'s shape {spec.shape} gives {field} {axis}, outside {bounds[0]}..{bounds[1]}")
    return axis


def _numbers(spec: TensorSpec, where: str) -> None:
    # The engine maps pixels through this range: a note cannot be computed with.
    if spec.range is not None and not isinstance(spec.range, list):
        raise ValueError(f"{where}.range should be [low, high], not {spec.range!r}")


class GeneratorManifest(Manifest):
    """latent float32 [batch, latent_size] -> image [batch, channels, R, R]."""
    kind: Literal["generator"]
    latent_size: LatentSize | None = None
    resolution: Side | None = None
    background: Colour | None = None  # what a 4-channel model's colour is composited on

    @model_validator(mode="after")
    def _contract(self):
        _size(self.latent_size, self.inputs[0], -1, "latent_size", "inputs[0]", LATENT_SIZES)
        image = self.outputs[0]
        resolution = _size(self.resolution, image, -1, "resolution", "outputs[0]", SIDES)
        _size(resolution, image, -2, "resolution", "outputs[0]", SIDES)
        channels = _axis(image, 1) if len(image.shape or []) == 4 else None
        if isinstance(channels, int) and channels != (self.channels or 3):
            raise ValueError(f"outputs[0]'s shape {image.shape} has {channels} channels, "
                             f"the manifest says {self.channels or 3}")
        _numbers(image, "outputs[0]")
        return self


class Prefill(BaseModel):
    model_config = STRICT
    method: ShortText


class InpaintManifest(Manifest):
    """image [batch, 3, R, R] and mask [batch, 1, R, R] -> image [batch, 3, R, R]."""
    kind: Literal["inpaint"]
    inputs: Annotated[list[TensorSpec], Field(min_length=2, max_length=16)]
    resolution: Side | None = None
    prefill: Prefill | None = None

    @model_validator(mode="after")
    def _contract(self):
        # The engine takes the input called "image", else the first.
        index = next((i for i, s in enumerate(self.inputs) if s.name == "image"), 0)
        image = self.inputs[index]
        _size(self.resolution, image, -1, "resolution", f"inputs[{index}]", SIDES)
        _numbers(image, f"inputs[{index}]")
        _numbers(self.outputs[0], "outputs[0]")
        return self


class UpscaleManifest(Manifest):
    """image [batch, 3, h, w] -> [batch, 3, h*scale, w*scale], exact in tiles with `margin` px."""
    kind: Literal["upscale"]
    scale: Literal[UPSCALE_FACTORS]
    margin: Annotated[int, Field(ge=0, le=1024)]
    resolution: Side | None = None


class StyleManifest(Manifest):
    """image [1, 3, h, w] and weights [style_count] -> image."""
    kind: Literal["style"]
    inputs: Annotated[list[TensorSpec], Field(min_length=2, max_length=16)]
    style_count: StyleCount | None = None
    style_names: Annotated[list[ShortText], Field(max_length=STYLE_COUNTS[1])] | None = None
    layout: Literal["NCHW", "NHWC"] | None = None
    size_multiple: Annotated[int, Field(ge=1, le=256)] | None = None

    @model_validator(mode="after")
    def _contract(self):
        _size(self.style_count, self.inputs[1], 0, "style_count", "inputs[1]", STYLE_COUNTS)
        return self


class StylePredictManifest(Manifest):
    """style image [1, S, S, 3] -> style vector."""
    kind: Literal["style-predict"]
    input_size: Side | None = None
    vector_size: Size | None = None
    layout: Literal["NCHW", "NHWC"] | None = None

    @model_validator(mode="after")
    def _contract(self):
        _size(self.input_size, self.inputs[0], 1, "input_size", "inputs[0]", SIDES)
        return self


class StyleTransformManifest(Manifest):
    """content [1, h, w, 3] and style vector -> image."""
    kind: Literal["style-transform"]
    inputs: Annotated[list[TensorSpec], Field(min_length=2, max_length=16)]
    vector_size: Size | None = None
    trained_size: Side | None = None
    size_multiple: Annotated[int, Field(ge=1, le=256)] | None = None
    layout: Literal["NCHW", "NHWC"] | None = None

    @model_validator(mode="after")
    def _contract(self):
        shape = self.inputs[1].shape
        if not shape or not all(isinstance(d, int) for d in shape) or math.prod(shape) > 1 << 16:
            raise ValueError(f"inputs[1] (the style vector) should have a fixed shape of at most 65536 "
                             f"numbers, not {shape}")
        return self


SCHEMAS: dict[str, type[Manifest]] = {
    "generator": GeneratorManifest, "inpaint": InpaintManifest, "upscale": UpscaleManifest,
    "style": StyleManifest, "style-predict": StylePredictManifest, "style-transform": StyleTransformManifest,
}


class Companion(BaseModel):
    """A network beside the model's own (a generator's "encoder")."""
    model_config = STRICT
    file: FileName
    sha256: Sha256
    inputs: Tensors
    outputs: Tensors
    fit: ShortText | None = None  # what values are known is the projector's business
    background: ShortText | None = None


# -- reading ---------------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    """folder/manifest.json as a dict, checked against the schema of its kind
    (the JSON as written: fields the schema does not name are kept).
    ManifestError (one line) says what is wrong."""
    return check_manifest(load_manifest(folder), folder)


def check_manifest(manifest: dict, folder: Path) -> dict:
    """`manifest` itself when it fits the schema of its kind, else ManifestError."""
    kind = manifest.get("kind")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ManifestError(f"{MANIFEST} lacks kind" if kind is None else
                            f"unknown kind {_brief(kind)} (expected one of {', '.join(KINDS)})")
    try:
        schema.model_validate(manifest, context={"folder": folder})
    except ValidationError as exc:
        raise ManifestError(_reason(exc)) from None
    return manifest


def check_companion(role: str, spec: Any, folder: Path) -> dict:
    """The companion entry `spec` itself when it fits the schema, else ManifestError."""
    try:
        Companion.model_validate(spec, context={"folder": folder})
    except ValidationError as exc:
        raise ManifestError(_reason(exc, (role,))) from None
    return spec


# -- one-line reasons ---------------------------------------------------------------

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 40
_short.maxlist = _short.maxdict = 4
_short.maxlevel = 2


def _brief(value: Any) -> str:
    return _short.repr(value)


def _reason(exc: ValidationError, within: tuple = ()) -> str:
    """The first of a validation's errors as one line: where (under the
    manifest's entry `within`), what, the value found."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = within + tuple(first["loc"])
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    if first["type"] == "missing":
        text = f"{MANIFEST} lacks {where}"
    else:
        # " or instance of Training": pydantic's words for a Python caller; JSON has only objects.
        message = re.sub(r" or instance of \w+", "", first["msg"].removeprefix("Value error, "))
        message = message[0].lower() + message[1:]
        found = f" (got {_brief(first['input'])})" if first["loc"] and first["type"] != "value_error" else ""
        text = f"{MANIFEST} {where}: {message}{found}" if where else f"{MANIFEST}: {message}"
    more = len(errors) - 1
    return one_line(text + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))
