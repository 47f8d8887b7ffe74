"""The bundled app's program (packaging/build_bundle.py): the `studio` command,
and `-m MODULE ...` for our own modules, which is how the app starts its
trainer and refiner (`sys.executable -m studio.train ...`) when sys.executable
is this program rather than Python."""

import multiprocessing
import runpy
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the trainer's data workers start this program too
    if len(sys.argv) >= 3 and sys.argv[1] == "-m" and sys.argv[2].split(".")[0] == "studio":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        sys.exit(0)
    from studio.cli import main

    sys.exit(main())
