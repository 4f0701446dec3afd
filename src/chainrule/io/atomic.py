"""Atomic file writes: a file appears complete under its name or not at all.

    >>> with atomic_write("metrics.json", who="train") as f:
    ...     _ = f.write(b'{"accuracy": 0.98}')
    >>> open("metrics.json").read()
    '{"accuracy": 0.98}'

The bytes go to a temporary file ``.tmp-<name>.<random>`` in the target's folder, are
flushed to disk and renamed over the target (``os.replace``), and the folder is synced, so a
crash at any moment leaves either the old file or the new one. The rules, in this one place:

- A new file gets the mode of a normal ``open(path, "w")`` under the umask (the temporary file
  is created with mode 0o666 and the kernel applies the umask); replacing a regular file keeps
  that file's mode.
- An exception (Ctrl-C included) removes the temporary file. A process killed outright
  (``kill -9``, power loss) cannot; its temporary file is removed by the next write of the same
  target. A writer holds an exclusive ``flock`` on its temporary file while it writes, so the
  clean-up removes only files whose writer is gone, never one another process is writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so no clean-up of other writers' files either
    fcntl = None

__all__ = ["atomic_write", "temp_prefix"]


def temp_prefix(path) -> str:
    """The name prefix of the temporary files of ``path`` (``.tmp-<basename>.``)."""
    return ".tmp-" + os.path.basename(os.fspath(path)) + "."


# The random part: ours (16 hex digits) or tempfile.mkstemp's (8 of [a-z0-9_]), which
# earlier versions used. Excluding '.' keeps "a" from claiming the files of "a.b".
_TOKEN = re.compile(r"[A-Za-z0-9_]{8,32}\Z")


def _lock(fd, blocking=True) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _remove_stale(directory: str, prefix: str) -> None:
    """Remove temporary files of this target whose writer has died (its lock is free)."""
    if fcntl is None:
        return
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and _TOKEN.match(name, len(prefix))):
            continue
        candidate = os.path.join(directory, name)
        try:
            # O_NONBLOCK: a FIFO planted under such a name must not hang us.
            fd = os.open(candidate, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, blocking=False):
                os.unlink(candidate)  # unlinked while we hold the lock: see _create_temp
        except OSError:
            pass
        finally:
            os.close(fd)


def _create_temp(directory: str, prefix: str, mode: int | None) -> tuple[int, str]:
    """A new locked temporary file: ``(fd, path)``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, prefix + secrets.token_hex(8))
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
        except FileExistsError:
            continue
        _lock(fd)
        # A clean-up in another process may have taken the lock between open and flock and
        # unlinked the file; then it has no name any more and we start again.
        if os.fstat(fd).st_nlink == 0:
            os.close(fd)
            continue
        try:
            if mode is not None:
                os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        return fd, tmp


def _sync_directory(directory: str) -> None:
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def atomic_write(path, who: str = "write"):
    """A binary file object whose bytes replace ``path`` atomically when the block ends.

    ``who`` starts the error messages (the command or function the user called). If the
    block raises, ``path`` is left as it was and the temporary file is removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{who}: cannot write {path}: folder {directory} does not exist")
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    # Replacing a regular file keeps its permissions; anything else is a new file.
    mode = stat.S_IMODE(existing.st_mode) if existing and stat.S_ISREG(existing.st_mode) \
        else None
    prefix = temp_prefix(path)
    _remove_stale(directory, prefix)
    fd, tmp = _create_temp(directory, prefix, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if fcntl is not None:
                # Renamed while the lock is held: until then a clean-up would see a file
                # without a writer. (Windows cannot rename an open file; it has no clean-up.)
                os.replace(tmp, path)
        if fcntl is None:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(directory)
