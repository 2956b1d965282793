"""Errors caused by what the user gave (paths, files, settings), reported without a traceback."""


class UserInputError(ValueError):
    """Bad input from the user; the message names the file, folder or key and what to do."""
