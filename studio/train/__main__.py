"""`python -m studio.train ...` trains; `python -m studio.train export ...`
exports; `python -m studio.train refine ...` refines a picture's latent
(refine.py, started by engine/projection.py)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["export"]:
        from studio.train.export import main as export_main

        return export_main(args[1:])
    if args[:1] == ["refine"]:
        from studio.train.refine import main as refine_main

        return refine_main(args[1:])
    from studio.train.cli import main as train_main

    return train_main(args)


def leave(code: int) -> None:
    """Exit with `code`. A torchrun rank leaves without the interpreter's
    teardown: gloo's worker threads can abort the process there (SIGABRT,
    "terminate called without an active exception", pytorch/pytorch#179291)
    after the run has finished and written everything, and torchrun then
    reports the whole run as failed."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    leave(main())
