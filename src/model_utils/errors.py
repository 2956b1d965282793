"""Errors reported to the user as one line, without a traceback."""


class UserInputError(ValueError):
    """Bad input from the user; the message names the file, folder or key and what to do."""

    exit_code = 1


class DatasetError(UserInputError):
    """A dataset folder or file that cannot be used; the message names it."""


class Interrupted(UserInputError):
    """The user stopped the run (Ctrl-C / SIGTERM) after its state was saved."""

    exit_code = 130
