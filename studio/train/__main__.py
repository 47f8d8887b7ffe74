"""`python -m studio.train ...` trains; `python -m studio.train export ...` exports."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["export"]:
        from studio.train.export import main as export_main

        return export_main(args[1:])
    from studio.train.cli import main as train_main

    return train_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
