"""The graphs sessions run, with their instance norms fused (norm_fusion.py),
cached in the user's cache folder by the model file's sha256, so the `onnx`
package (about 0.9 s to import) is loaded only the first time a model is
opened on this machine, not at every one-shot command."""

from __future__ import annotations

import hashlib
from pathlib import Path

from studio.core.atomic import atomic_write_bytes
from studio.core.paths import cache_root

# Bumped whenever norm_fusion.py would write a different graph, so no cached graph outlives its recipe.
FUSION_VERSION = 1


def fused_graph(path: Path) -> bytes:
    """The ONNX bytes a session runs for the model file at `path`."""
    data = path.read_bytes()
    cached = cache_root() / "fused-graphs" / f"{hashlib.sha256(data).hexdigest()}-v{FUSION_VERSION}.onnx"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    from studio.engine.norm_fusion import fuse_instance_norms  # imports onnx: only on a miss

    fused, _count = fuse_instance_norms(data)
    try:
        atomic_write_bytes(cached, fused)
    except OSError:
        pass  # a read-only cache only costs the next command the fusion again
    return fused
