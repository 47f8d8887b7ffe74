"""A frozen, pretrained feature extractor for a Projected-GAN discriminator
(Sauer et al. 2021, "Projected GANs Converge Faster"): the discriminator judges
images through the features of a fixed pretrained network instead of raw
pixels, which the paper found to converge in far fewer steps and to need less
data.

The network is the MobileNetV2 (width 1.0) inside Magenta's arbitrary style
transfer style predictor, models/style-predict/model.onnx: weights by the
Magenta authors (Ghiasi, Lee, Kudlur, Dumoulin, Shlens 2017), Apache-2.0, see
that folder's NOTICE.txt. It is the only pretrained image network we may ship.
The ONNX graph is int8-quantised (QuantizeLinear/DequantizeLinear around every
Conv, Clip and Add); it is rebuilt here as the float network it approximates:
every weight and bias dequantised ((q - zero_point) * scale, per output
channel), every activation Quantize/Dequantize dropped. Layers are found by
walking the graph's data path from its input, not from a hard-coded table.

Input preprocessing: the graph has no Mul/Sub before the first conv; its input
quantiser (scale 1/255, zero point -128) feeds [0,1] values straight into the
first conv, as Magenta's code does (mobilenet_base on the raw style image). So
images in our [-1,1] are mapped to [0,1] and nothing else.

Kept layers: the stage ends just before each spatial reduction (a stride-2
conv, or the global pool of the style head), i.e. the linear-bottleneck block
outputs at strides 4, 8, 16 and 32 with 24, 32, 96 and 320 channels (at 128 px:
24x32x32, 32x16x16, 96x8x8, 320x4x4). The stride-2 stage end (16 channels, two
convs deep, little more than edge filters) is computed but not returned: a
discriminator head there would process 4x the pixels of the stride-4 one.
Nothing past the last kept stage is built (the default 3 stages end at
expanded_conv_12 of 17 blocks; Conv_1 and the style head never are), because
on a CPU every layer costs training time: 3 stages are 69 M multiply-adds per
128 px image and 0.53 M weights, all 4 are 91 M and 1.8 M.

Measured cost, forward + backward to the input, batch 32, on the 2-core
development machine while a GAN training run kept both cores busy (so the
numbers are upper bounds and noisy): with torch.set_num_threads(2), 3 stages,
3.7-4.2 s at 128 px and 0.39-3.4 s at 64 px, 4 stages 1.9-5.1 s and
0.42-0.71 s, thread contention dominating; with 1 thread, 3 stages 0.87 s at
128 px and 0.21 s at 64 px, 4 stages 0.99 s and 0.19 s.

Parity (tests/train/test_feature_net.py), on a 256 px 8-bit noise image:
against onnxruntime running the original int8 graph, the end of stage 3
(96x16x16) has relative L2 error 0.113 and cosine similarity 0.994, where a
randomly initialised copy of the same layers gets 1.00 and 0.00; the error is
the int8 rounding of activations the original does and this float rebuild
does not. Against the same graph with its activation Quantize/Dequantize made
identities, every stage matches to a relative error below 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

MODEL_FILE = "model.onnx"
# Stage ends at strides 1 (the image) and 2 are not returned; see the docstring.
FIRST_STRIDE = 4
DEFAULT_STAGES = 3
# ONNX Transpose that turns the graph's NHWC input into NCHW; our images are
# NCHW already, so it is the identity here.
NHWC_TO_NCHW = [0, 3, 1, 2]


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero_point) * scale, per tensor when scale is
    a scalar, else per slice along `axis`."""
    scale = scale.astype(np.float32)
    zero = np.zeros((), np.int64) if zero_point is None else zero_point.astype(np.int64)
    if scale.ndim:
        scale, zero = scale.reshape(_along(axis, q.ndim)), zero.reshape(_along(axis, q.ndim))
    return (q.astype(np.int64) - zero).astype(np.float32) * scale


def _along(axis: int, ndim: int) -> list[int]:
    shape = [1] * ndim
    shape[axis] = -1
    return shape


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def _conv_from_onnx(node: onnx.NodeProto, weight: np.ndarray, bias: np.ndarray | None) -> nn.Module:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("auto_pad", b"NOTSET") != b"NOTSET":
        raise ValueError(f"{node.name or node.output[0]}: auto_pad is not supported")
    cout, cin_per_group, kh, kw = weight.shape
    groups = int(attrs.get("group", 1))
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    conv = nn.Conv2d(cin_per_group * groups, cout, (kh, kw), stride=tuple(attrs.get("strides", [1, 1])),
                     dilation=tuple(attrs.get("dilations", [1, 1])), groups=groups, bias=bias is not None,
                     padding=(top, left) if (top, left) == (bottom, right) else 0)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    if (top, left) == (bottom, right):
        return conv
    # TF "SAME" padding of the stride-2 convs is [0,0,1,1] (bottom/right only)
    # for every even input size, so the image must halve evenly down to the
    # last kept stage (MobileNetFeatures checks).
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)


def read_mobilenet(onnx_path: Path | str, stages: int = DEFAULT_STAGES) -> dict:
    """Rebuilds the float layers of the quantised ONNX MobileNet up to the end
    of stage `stages` (1 = stride 4, 2 = stride 8, ...).

    Returns {"layers": [module...], "wiring": [(input slots, output slot)...],
    "taps": [slot per stage], "channels", "strides", "tensor_names"}: running
    layers[i] on the values in its input slots gives its output slot, slot 0
    being the [0,1] NCHW image; tensor_names are the ONNX float tensors that
    hold the stage ends in the original graph."""
    model = onnx.load(str(onnx_path))
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    image = next(i.name for i in graph.input if i.name not in consts)

    def const(name: str) -> np.ndarray:
        if name in consts:
            return consts[name]
        node = producer.get(name)
        if node is None or node.op_type != "DequantizeLinear":
            raise ValueError(f"{name} is neither an initializer nor a dequantised one")
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        zero_point = const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        return dequantize(const(node.input[0]), const(node.input[1]), zero_point, int(attrs.get("axis", 1)))

    slot = {image: 0}             # ONNX tensor -> value slot; Q/DQ outputs alias their input
    nhwc = {image}                # tensors still in the graph's input layout
    stride = [1]                  # per slot, relative to the image
    channels = [3]                # per slot
    float_name = {0: image}       # per slot, the last float ONNX tensor holding it
    kinds, nodes, wiring = [], [], []
    reductions = []               # slot read by each stride-2 conv or by the op that ends the backbone
    for node in graph.node:
        ins = [x for x in node.input if x in slot]
        if not ins:
            continue
        op, src = node.op_type, slot[ins[0]]
        if op in ("QuantizeLinear", "DequantizeLinear"):
            slot[node.output[0]] = src
            if ins[0] in nhwc:
                nhwc.add(node.output[0])
            if op == "DequantizeLinear":
                float_name[src] = node.output[0]
            continue
        if op == "Transpose" and ins[0] in nhwc:
            perm = next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "perm")
            if list(perm) != NHWC_TO_NCHW:
                raise ValueError(f"unexpected input transpose {perm}")
            slot[node.output[0]] = src
            continue
        if ins[0] in nhwc:
            raise ValueError(f"{op} reads the image before it is transposed to NCHW")
        if op == "Conv":
            layer = _conv_from_onnx(node, const(node.input[1]),
                                    const(node.input[2]) if len(node.input) > 2 and node.input[2] else None)
            conv = layer if isinstance(layer, nn.Conv2d) else layer[-1]
            if conv.stride != (1, 1):
                reductions.append(src)
            kinds.append("conv")
            out_stride, out_channels = stride[src] * conv.stride[0], conv.out_channels
        elif op == "Clip":
            bounds = tuple(float(const(x)) if x else None for x in node.input[1:3])
            if bounds != (0.0, 6.0):
                raise ValueError(f"Clip with bounds {bounds} is not ReLU6")
            layer, out_stride, out_channels = nn.ReLU6(), stride[src], channels[src]
            kinds.append("relu6")
        elif op == "Add" and len(ins) == 2:
            a, b = slot[ins[0]], slot[ins[1]]
            if stride[a] != stride[b]:
                raise ValueError("residual Add of two resolutions")
            layer, out_stride, out_channels = _Add(), stride[a], channels[a]
            kinds.append("add")
        else:
            # The backbone ends at the first op that is none of the above
            # (here the style head's GlobalAveragePool), itself a reduction.
            reductions.append(src)
            break
        out = len(stride)
        wiring.append((tuple(slot[x] for x in ins), out))
        nodes.append(layer)
        stride.append(out_stride)
        channels.append(out_channels)
        slot[node.output[0]] = out
        float_name[out] = node.output[0]

    made_by = {out: i for i, (_, out) in enumerate(wiring)}

    def stage_end(s: int) -> int:
        # Back from a reduction's input through the expansion (conv + ReLU6)
        # to the linear bottleneck that ends the previous stage.
        while s in made_by and kinds[made_by[s]] == "relu6":
            expanded = wiring[made_by[s]][0][0]
            s = wiring[made_by[expanded]][0][0]
        return s

    ends = []
    for s in map(stage_end, reductions):
        if stride[s] >= FIRST_STRIDE and s not in ends:
            ends.append(s)
    if not 1 <= stages <= len(ends):
        raise ValueError(f"stages must be 1..{len(ends)}, got {stages}")
    taps = ends[:stages]

    needed, keep = set(taps), []
    for i in reversed(range(len(wiring))):
        if wiring[i][1] in needed:
            keep.append(i)
            needed.update(wiring[i][0])
    keep.reverse()
    return {"layers": [nodes[i] for i in keep], "wiring": [wiring[i] for i in keep], "taps": taps,
            "channels": [channels[t] for t in taps],
            "strides": [stride[t] for t in taps], "tensor_names": [float_name[t] for t in taps]}


class MobileNetFeatures(nn.Module):
    """Frozen MobileNetV2 stages: images [N,3,H,W] in [-1,1], H and W multiples
    of the last stage's stride (16 for the default 3 stages, 32 for 4) -> list
    of `stages` feature maps [N, channels[i], H/strides[i], W/strides[i]].

    No parameter trains, but gradients flow to the input, so a generator can be
    trained through it."""

    def __init__(self, model_dir: Path | str, stages: int = DEFAULT_STAGES):
        super().__init__()
        plan = read_mobilenet(Path(model_dir) / MODEL_FILE, stages)
        self.layers = nn.ModuleList(plan["layers"])
        self.wiring = plan["wiring"]
        self.taps = plan["taps"]
        self.channels = tuple(plan["channels"])
        self.strides = tuple(plan["strides"])
        self.tensor_names = tuple(plan["tensor_names"])
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "MobileNetFeatures":
        # The discriminator that holds this net calls .train(); the features
        # must stay the pretrained function whatever its mode.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        if images.shape[-1] % self.strides[-1] or images.shape[-2] % self.strides[-1]:
            raise ValueError(f"height and width must be multiples of {self.strides[-1]}, "
                             f"got {tuple(images.shape[-2:])}")
        values = {0: (images + 1) * 0.5}
        for layer, (ins, out) in zip(self.layers, self.wiring):
            values[out] = layer(*(values[i] for i in ins))
        return [values[t] for t in self.taps]
