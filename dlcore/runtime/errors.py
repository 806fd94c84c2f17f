"""The one exception the app and the command line turn into a clear message."""


class DataError(ValueError):
    """Input a user gave that cannot be used; the message says what is wrong and what to do."""
