"""Instance normalisation spelled out in elementary operations, fused back
into onnxruntime's InstanceNormalization kernel.

Why: the built-in style network (exported from PyTorch with a conditional
instance norm) normalises every feature map with about eight nodes, each a
pass over the whole map: ReduceMean, Sub, Pow, ReduceMean, then Mul by
1/sqrt(var + eps), Mul by gamma, Add beta. onnxruntime does not fuse that
pattern; its InstanceNormalization kernel does the same arithmetic in two
passes. Measured at 1024 x 1024 on 2 threads, those nodes were 18 % of the
run. The weights and the arithmetic stay the same (the fused graph's output
matches the original's to float rounding; tested).

Only whole-image runs use the fused graph: tiling (engine/tiling.py) rewrites
the original graph's reductions into per-tile sums and needs them spelled out.
Its tile graphs, where mean and variance arrive as inputs, get the other half
of the saving from `fold_given_statistics`: the per-channel arithmetic folded
into one scale and one shift, two passes over the map instead of four.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


class _Graph:
    """Who reads and who makes each tensor of a graph, and the rewrite of
    chains of its nodes into new nodes."""

    def __init__(self, graph: onnx.GraphProto):
        self.graph = graph
        self.producer = {o: n for n in graph.node for o in n.output}
        self.readers: dict[str, list[onnx.NodeProto]] = {}
        for node in graph.node:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.output}
        self._drop: set[int] = set()
        self._replaced: dict[int, list[onnx.NodeProto]] = {}

    def only_reader(self, name: str, op: str) -> onnx.NodeProto | None:
        """The one node reading `name`, when it is an `op` and `name` is not a graph output."""
        found = self.readers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op and name not in self.outputs else None

    def replace(self, chain: list[onnx.NodeProto], new: list[onnx.NodeProto]) -> None:
        """Drop `chain` and put `new` where its last node was."""
        self._drop.update(id(n) for n in chain[:-1])
        self._replaced[id(chain[-1])] = new

    def rewrite(self) -> int:
        """Apply the replacements (unread Constants dropped with them); how many."""
        nodes = []
        for node in self.graph.node:
            if id(node) in self._replaced:
                nodes.extend(self._replaced[id(node)])
            elif id(node) not in self._drop:
                nodes.append(node)
        read = {name for node in nodes for name in node.input} | self.outputs
        nodes = [n for n in nodes if n.op_type != "Constant" or n.output[0] in read]
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        del self.graph.value_info[:]  # shapes inside the replaced chains are gone
        return len(self._replaced)


def fuse_instance_norms(data: bytes) -> tuple[bytes, int]:
    """(ONNX bytes with every recognised pattern fused, how many were fused).

    The pattern, on a 4-D NCHW map x with per-channel gamma and beta:
        m = ReduceMean(x, axes=[2, 3]);  d = x - m
        v = ReduceMean(d ** 2, axes=[2, 3]);  r = 1 / Sqrt(v + eps)
        y = (d * r) * gamma + beta
    and the intermediate maps must have no other readers. gamma and beta may
    be computed in the graph (the style blend makes them) and must have C
    elements; they are flattened to the [C] InstanceNormalization takes."""
    model = onnx.load_from_string(data)
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    g = _Graph(graph)
    only_reader, readers, outputs = g.only_reader, g.readers, g.outputs

    def other(node: onnx.NodeProto, name: str) -> str:
        return node.input[1] if node.input[0] == name else node.input[0]

    for mean in list(graph.node):
        if mean.op_type != "ReduceMean" or not _spatial_axes(mean, constants):
            continue
        x = mean.input[0]
        sub = only_reader(mean.output[0], "Sub")
        if sub is None or list(sub.input) != [x, mean.output[0]]:
            continue
        d_readers = readers.get(sub.output[0], [])
        pow_ = next((n for n in d_readers if n.op_type == "Pow"), None)
        scale = next((n for n in d_readers if n.op_type == "Mul"), None)
        if len(d_readers) != 2 or pow_ is None or scale is None:
            continue
        if not np.array_equal(constants.get(pow_.input[1], np.nan), 2.0):
            continue
        var = only_reader(pow_.output[0], "ReduceMean")
        if var is None or not _spatial_axes(var, constants):
            continue
        add_eps = only_reader(var.output[0], "Add")
        eps = constants.get(other(add_eps, var.output[0])) if add_eps is not None else None
        if eps is None or eps.size != 1:
            continue
        sqrt = only_reader(add_eps.output[0], "Sqrt")
        inv = only_reader(sqrt.output[0], "Div") if sqrt is not None else None
        if inv is None or list(inv.input[1:]) != [sqrt.output[0]] or not np.array_equal(
                constants.get(inv.input[0], np.nan), 1.0):
            continue
        if only_reader(inv.output[0], "Mul") is not scale:
            continue
        times_gamma = only_reader(scale.output[0], "Mul")
        plus_beta = only_reader(times_gamma.output[0], "Add") if times_gamma is not None else None
        if plus_beta is None:
            continue
        gamma = other(times_gamma, scale.output[0])
        beta = other(plus_beta, times_gamma.output[0])
        chain = [mean, sub, pow_, var, add_eps, sqrt, inv, scale, times_gamma, plus_beta]
        if any(n.output[0] in outputs for n in chain[:-1]):
            continue
        prefix = plus_beta.output[0] + "/fused"
        flat = prefix + "/flat"
        new = [
            helper.make_node("Reshape", [gamma, flat], [prefix + "/gamma"]),
            helper.make_node("Reshape", [beta, flat], [prefix + "/beta"]),
            helper.make_node("InstanceNormalization", [x, prefix + "/gamma", prefix + "/beta"],
                             [plus_beta.output[0]], epsilon=float(eps.reshape(-1)[0])),
        ]
        graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), flat))
        g.replace(chain, new)
    count = g.rewrite()
    return (model.SerializeToString(), count) if count else (data, 0)


def fold_given_statistics(data: bytes, statistics: set[str]) -> tuple[bytes, int]:
    """(ONNX bytes with every normalisation by given statistics folded, how many).

    The pattern, where m and v are graph inputs named in `statistics`
    ([1,C,1,1] mean and variance measured elsewhere):
        y = ((x - m) * (1 / Sqrt(v + eps))) * gamma + beta
    becomes y = x * scale + shift with scale = gamma / sqrt(v + eps) and
    shift = beta - m * scale computed per channel. Float rounding differs a
    little (x * scale and m * scale are rounded apart); tiling's tests bound
    the result against the whole-image run."""
    model = onnx.load_from_string(data)
    graph = model.graph
    g = _Graph(graph)
    only_reader, producer = g.only_reader, g.producer

    def from_statistic(name: str) -> bool:
        """r = Div(1, Sqrt(Add(v, eps))) with v a given statistic."""
        div = producer.get(name)
        sqrt = producer.get(div.input[1]) if div is not None and div.op_type == "Div" else None
        add = producer.get(sqrt.input[0]) if sqrt is not None and sqrt.op_type == "Sqrt" else None
        return add is not None and add.op_type == "Add" and any(i in statistics for i in add.input)

    for sub in list(graph.node):
        if sub.op_type != "Sub" or sub.input[1] not in statistics:
            continue
        x, m = sub.input
        times_r = only_reader(sub.output[0], "Mul")
        if times_r is None:
            continue
        r = times_r.input[1] if times_r.input[0] == sub.output[0] else times_r.input[0]
        times_gamma = only_reader(times_r.output[0], "Mul")
        plus_beta = only_reader(times_gamma.output[0], "Add") if times_gamma is not None else None
        if plus_beta is None or not from_statistic(r):
            continue
        gamma = next(i for i in times_gamma.input if i != times_r.output[0])
        beta = next(i for i in plus_beta.input if i != times_gamma.output[0])
        y = plus_beta.output[0]
        g.replace([sub, times_r, times_gamma, plus_beta], [
            helper.make_node("Mul", [r, gamma], [y + "/scale"]),
            helper.make_node("Mul", [m, y + "/scale"], [y + "/m_scale"]),
            helper.make_node("Sub", [beta, y + "/m_scale"], [y + "/shift"]),
            helper.make_node("Mul", [x, y + "/scale"], [y + "/x_scale"]),
            helper.make_node("Add", [y + "/x_scale", y + "/shift"], [y]),
        ])
    count = g.rewrite()
    return (model.SerializeToString(), count) if count else (data, 0)


def _spatial_axes(node: onnx.NodeProto, constants: dict[str, np.ndarray]) -> bool:
    """A ReduceMean over axes 2 and 3 of a 4-D map, keeping dims (attribute
    before opset 18, input from 18)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        axes = constants.get(node.input[1])
    return axes is not None and sorted(int(a) for a in np.ravel(axes)) == [2, 3] and attrs.get("keepdims", 1) == 1
