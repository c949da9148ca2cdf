"""The one exception type that user-facing code raises for bad input.

The CLI turns a :class:`PixelsmithError` into a one-line message on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class PixelsmithError(Exception):
    """A problem with the user's input or environment (bad file, bad option, missing weights).

    ``path`` names the file concerned, when there is one; ``str(err)`` is a complete one-line message.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class Note(UserWarning):
    """Something a user should know about a result that is not a problem (the exposure ratio a
    raw frame was developed at, when none was given): the CLI prints it as one ``note:`` line."""
