"""The trainer's one error for bad input (a folder, a flag, a base model
that cannot be used), in a module without torch so that the task specs the
GUI reads can raise it too."""


class DataError(Exception):
    """The run cannot be made as asked; str() is one readable line."""
