"""Run the servestack CLI with a fault injected into its writes of stack files. Test-only: no
production code has a hook for this; the fault wraps ``open`` in this process before the CLI runs.

    python tests/stackfile_faults.py FAULT DIRECTORY -- rollout advance iris --stack dev ...

A file opened for writing in DIRECTORY (the stack file itself, or a temp file beside it) gets FAULT
on its first ``write``:

- ``slow=SECONDS``: wait that long, then write (a slow disk: writers overlap).
- ``die``: write the first half, fsync it, print ``FAULT: paused mid-write`` on stderr and sleep
  (the test kills the process with SIGKILL).
- ``enospc``: write the first half, then fail with ENOSPC (a full disk).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sys
import time

PAUSED = "FAULT: paused mid-write"


class _Faulty:
    def __init__(self, file, fault: str):
        self._file, self._fault = file, fault

    def write(self, data):
        if self._fault.startswith("slow="):
            time.sleep(float(self._fault.removeprefix("slow=")))
            return self._file.write(data)
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        os.fsync(self._file.fileno())
        if self._fault == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        print(PAUSED, file=sys.stderr, flush=True)
        time.sleep(600)
        raise SystemExit("not killed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._file, name)


def _install(fault: str, directory: str) -> None:
    real_open = io.open
    directory = os.path.realpath(directory)

    def fault_open(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        if not any(flag in mode for flag in "wax+"):
            return opened
        name = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.realpath(file)
        return _Faulty(opened, fault) if os.path.dirname(name) == directory else opened

    io.open = builtins.open = fault_open


if __name__ == "__main__":
    fault, directory, separator, *cli_args = sys.argv[1:]
    assert separator == "--", "usage: stackfile_faults.py FAULT DIRECTORY -- servestack arguments"
    _install(fault, directory)
    from servestack.cli import main

    sys.argv = ["servestack", *cli_args]
    main()
