"""Errors a user can cause. Each carries a message a person can act on.

The GUI shows ``str(error)`` in a dialog, the CLI prints it and exits non-zero; an
error's ``details`` (the technical detail behind the message, such as a server's own
words) go in the dialog's "Details" and on the CLI's next line. Anything that is not an
:class:`MlopsError` is a bug in the app.
"""

from __future__ import annotations


class MlopsError(Exception):
    """Base class for every error the user can cause and fix."""

    #: the technical detail behind the message, for whoever fixes it ("" when the message says it all)
    details: str = ""


class WorkspaceError(MlopsError):
    """The workspace folder or its registry cannot be used."""


class DataImportError(MlopsError):
    """A file cannot be imported; the message names the file and the problem."""


class NotFoundError(MlopsError):
    """A dataset, column or other named thing does not exist."""


class InvalidChoiceError(MlopsError):
    """A value given by the user is not one of the allowed choices."""


class DiskFullError(MlopsError):
    """A file or the registry could not be written: the disk (or the user's quota) is
    full. What was being written is removed, never left half-written."""


class NotAFileError(MlopsError):
    """A path names a named pipe, a device, a socket or a folder where a file is read."""


class SelfApprovalRefused(InvalidChoiceError):
    """The person who trained a version tried to approve it outside single-user mode.
    A type of its own so that a screen can offer its own ways out (act as someone
    else, switch on single-user mode) and keep the comment typed."""

    def __init__(self, message: str, *, ref: str, actor: str) -> None:
        super().__init__(message)
        self.ref = ref
        self.actor = actor


class CheckError(MlopsError):
    """Assumption checks cannot run on the chosen data, target and features."""


class JobCancelled(Exception):
    """Raised inside a long operation when the user cancelled it.

    Deliberately not an :class:`MlopsError`: a cancel is not a failure, and callers
    that report errors should treat it separately.
    """
