"""The errors vsm reports to a user as one line.

Every class here is a :class:`VsmError`; the command line turns each into
``Error: <message>`` on stderr and exit code 2. Build the message so that it
names the file, the row or column, what was expected and what to do.
"""

from __future__ import annotations


class VsmError(Exception):
    """A problem with the user's input or options, explained in one line."""


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


class BadTimestamps(ConnectorError):
    """Too many values in a timestamp column are not dates."""


class BadOption(VsmError):
    """A command-line option or API argument has a value vsm cannot use."""


class ConfigError(VsmError):
    """A mapping or design file is invalid."""
