"""The errors vsm reports to a user as one line.

Every class here is a :class:`VsmError`; the command line turns each into
``Error: <message>`` on stderr and exit code 2. Build the message so that it
names the file, the row or column, what was expected and what to do.
"""

from __future__ import annotations

import re

# Characters that end a line (str.splitlines) or drive a terminal (C0, DEL, C1).
_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """Return ``text`` with line breaks and terminal control characters written as escapes.

    Messages quote column names and cell values from the export, which may hold
    a newline or an escape sequence; the user must still see one plain line.
    """
    return _BREAKING.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class VsmError(Exception):
    """A problem with the user's input or options, explained in one line."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class ConnectorError(VsmError):
    """The export could not be read as an event log."""


class EmptyExport(ConnectorError):
    """The export holds no data rows."""


class UnreadableExport(ConnectorError):
    """The file is binary, truncated, or not in the format it claims to be."""


class UnknownSource(ConnectorError):
    """The kind of export could not be detected or is not supported."""


class MissingColumn(ConnectorError):
    """A required column is not in the export."""


class TooLarge(ConnectorError):
    """The export needs more memory than this machine has available."""


class BadTimestamps(ConnectorError):
    """Too many values in a timestamp column are not dates."""


class BadOption(VsmError):
    """A command-line option or API argument has a value vsm cannot use."""


class ConfigError(VsmError):
    """A mapping or design file is invalid."""


class OutputError(VsmError):
    """An output file could not be written (no space, no permission, no folder)."""
