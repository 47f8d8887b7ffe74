"""The devices inference can be asked to run on, and the onnxruntime provider
behind each accelerator, best first: CUDA (onnxruntime-gpu on Linux and
Windows), CoreML (onnxruntime on macOS), DirectML (onnxruntime-directml on
Windows). Free of onnxruntime, so the CLI's parser and the menus list them
without loading it; engine/runtime.py probes which of them really start.
"""

from __future__ import annotations

# name -> (onnxruntime provider, what a person calls it)
ACCELERATORS = {
    "cuda": ("CUDAExecutionProvider", "NVIDIA GPU (CUDA)"),
    "coreml": ("CoreMLExecutionProvider", "Apple GPU / Neural Engine (CoreML)"),
    "directml": ("DmlExecutionProvider", "GPU (DirectML)"),
}
DEVICES = ("auto", "cpu", *ACCELERATORS)
DEVICE_LABELS = {"auto": "Automatic (best usable accelerator)", "cpu": "CPU",
                 **{name: label for name, (_provider, label) in ACCELERATORS.items()}}


def add_device_flag(parser) -> None:
    """--device on an argparse parser, the same on every command that runs a model."""
    parser.add_argument("--device", choices=DEVICES, help="force a device (default: STUDIO_DEVICE or auto)")
