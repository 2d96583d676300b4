"""Exceptions the command-line scripts turn into one line on stderr."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (an SDK error's own ``message`` where it
    has one), or its type's name when it has none: what a one-line report quotes."""
    text = str(getattr(error, "message", "") or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class YoloError(Exception):
    """A problem with the user's input (files, flags, data), reported without a traceback."""


class CfgError(YoloError):
    """A Darknet .cfg that cannot describe a model we can build."""


class WeightsError(YoloError):
    """A Darknet .weights or Keras model file that does not fit the model."""
