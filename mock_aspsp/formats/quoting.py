"""How a message quotes a value the client sent: an error, a page or a scenario problem names the value,
it does not echo a 15 MB one back."""

QUOTE_MAX = 200  # a value a client sent, quoted back in a message or a problem


def cut(text: str, limit: int = QUOTE_MAX) -> str:
    """A text the client sent (a path, a key), unquoted, cut to ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(value: object, limit: int = QUOTE_MAX) -> str:
    """``repr`` of a value the client sent, cut to about ``limit`` characters."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "…"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
