"""The one error type loaders raise for a user's input: its message says what is wrong and what to do."""


class LoadError(ValueError):
    pass
