"""Serialized, atomic changes of one file (what :mod:`servestack.stackio.stackfile` writes stack files with).

- **The lock** is an exclusive ``fcntl.flock`` on the file itself, taken before the file is read and
  held until its new text is in place. The new text is renamed over the file, so the path then names
  a new inode while a waiting writer may hold (or be queued on) the old one: after taking the lock a
  writer checks that the path still names the inode it locked and, if not, locks the new one. So the
  rename never lets two writers in at once, and no lock file is left beside the stack file. The
  kernel drops the lock of a killed process.
- **The write** goes to a temp file in the same directory (``.<name>.<random>.tmp``, which no
  ``Pulumi.*.yaml`` glob matches), is fsynced, gets the file's mode (and owner, where allowed),
  and is renamed over the file (``os.replace``, atomic on POSIX); then the directory is fsynced.
  A writer killed or out of space before the rename leaves the file as it was, and at worst its
  temp file, which the next writer (holding the lock, so no one else's) removes.
"""

from __future__ import annotations

import fcntl
import glob
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: How long a writer waits for another one's lock before giving up.
LOCK_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.05


class FileBusy(Exception):
    """Another process held the file's lock for longer than the timeout."""


@contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[Path]:
    """Hold the exclusive lock of ``path`` (the real file, symlinks resolved, which is yielded).

    Raises FileBusy after ``timeout`` seconds, FileNotFoundError if the file is gone.
    """
    path = Path(os.path.realpath(path))
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _flock(fd, deadline, timeout)
            if _same_file(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # renamed over while we waited: lock the file that is there now
    try:
        _remove_stale_temps(path)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _flock(fd: int, deadline: float, timeout: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise FileBusy(f"waited {timeout:g}s for the lock") from None
            time.sleep(_POLL_SECONDS)


def _same_file(fd: int, path: Path) -> bool:
    held, current = os.fstat(fd), os.stat(path)
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temps(path: Path) -> None:
    """Temp files of writers killed before their rename (only the lock holder writes one)."""
    prefix = _temp_prefix(path)
    for leftover in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        try:
            leftover.unlink()
        except OSError:
            pass


def replace(path: Path, text: str) -> None:
    """Put ``text`` in place of the file at ``path`` atomically; call it holding :func:`locked`.

    Raises OSError (the file untouched, the temp file removed) if the text cannot be written.
    """
    current = os.stat(path)
    fd, temp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), stat.S_IMODE(current.st_mode))
            if (current.st_uid, current.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(out.fileno(), current.st_uid, current.st_gid)
                except PermissionError:
                    pass  # only root (or the owner, for the group) may; the file keeps our ownership
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_directory(path.parent)


def create(path: Path, text: str, mode: int = 0o644) -> None:
    """Create the file at ``path`` holding ``text``, atomically: readers see no file or the whole text.

    Raises FileExistsError (nothing written) when a file of that name exists, even one created a
    moment earlier by another command: the file is linked into place, which never replaces a file.
    """
    fd, temp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.link(temp, path)
    finally:
        try:
            os.unlink(temp)
        except OSError:
            pass
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename has happened either way
    finally:
        os.close(fd)
