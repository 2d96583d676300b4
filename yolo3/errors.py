"""Exceptions the command-line scripts turn into one line on stderr."""


class YoloError(Exception):
    """A problem with the user's input (files, flags, data), reported without a traceback."""


class CfgError(YoloError):
    """A Darknet .cfg that cannot describe a model we can build."""


class WeightsError(YoloError):
    """A Darknet .weights or Keras model file that does not fit the model."""
