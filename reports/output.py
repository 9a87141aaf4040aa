"""Writing output files safely: atomically, and never over the input."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from connectors.errors import BadOption, OutputError


def write_text(path: str | os.PathLike[str], text: str, *, protect: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    A failure never leaves a half-written file. ``protect`` names input files
    that must not be overwritten.
    """
    write_bytes(path, text.encode("utf-8"), protect=protect)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, protect: tuple[str | os.PathLike[str], ...] = ()) -> None:
    target = Path(path)
    check_not_input(target, protect)
    check_writable(target)
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}; nothing was written") from exc
        raise


def check_writable(target: Path, *, folder: bool = False) -> None:
    """Raise unless ``target`` can be created: vsm's one rule for every output.

    The folder an output goes into must exist (vsm never creates parents); the
    output itself, a file or a ``folder`` such as --csv-dir, is created.
    """
    parent = target.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise BadOption(f"cannot write {target}: folder {parent} {what}; create it first")
    if folder and target.exists() and not target.is_dir():
        raise BadOption(f"cannot write into {target}: it is a file, not a folder")
    if not folder and target.is_dir():
        raise BadOption(f"cannot write {target}: it is a folder")


def check_not_input(target: Path, inputs: tuple[str | os.PathLike[str], ...]) -> None:
    """Raise if ``target`` is one of ``inputs`` (the tool never overwrites its input)."""
    for inp in inputs:
        p = Path(inp)
        if p.exists() and target.exists() and os.path.samefile(p, target):
            raise BadOption(f"refusing to overwrite the input file {p}; choose another output path")
