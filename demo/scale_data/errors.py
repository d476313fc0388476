"""The scale generator's one exception."""


class ScaleSeedError(Exception):
    """Why the scale data cannot be generated here; the message is for whoever runs it."""
