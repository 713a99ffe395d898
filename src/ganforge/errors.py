"""Errors meant for the user: the CLI prints their message on one line and exits with code 2."""


class UserError(Exception):
    """Something the user gave us is wrong (path, option, file, shape). The message says what
    was wrong and how to fix it, in one line."""
