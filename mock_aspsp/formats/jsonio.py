"""JSON on the hot path: the body read, and the journal and access-log lines written, on every call
(the journal line by either store).

orjson writes them in a fraction of the standard library's time (BENCHMARKS.md).
It refuses integers beyond 64 bits, lone surrogates and keys that are not
strings, which the standard library then writes as before; a non-finite float
becomes ``null``, valid JSON where the standard library writes ``Infinity``.
The API's answers keep the standard library's layout (``"result": true``, as
the README and scripts that grep it show). Reading stays with the standard
library: orjson reads an integer beyond 64 bits as a float and loses digits.
Numbers with a fraction or an exponent are read as ``Decimal``: an amount is
exactly what the TPP sent (``3500.0000000000001`` is not 3500).
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Union

import orjson


def _not_json(constant: str) -> None:
    """NaN and Infinity are Python's JSON extensions, not JSON (RFC 8259 §6)."""
    raise ValueError(f"{constant} is not JSON")


# Built once: ``json.loads`` given any option builds a decoder on every call (half the parse of a body).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_not_json)


def text(data: bytes) -> str:
    """The JSON text of a body, its encoding told as ``json.loads`` tells it (RFC 8259 §8.1: UTF-8, also
    UTF-16/32 and a BOM, by the first bytes); raises UnicodeDecodeError. Strictly decoded, unlike
    ``json.loads``: the UTF-8 shape of a surrogate is not UTF-8, and read as text it could not be echoed."""
    return data.decode(json.detect_encoding(data))


def is_text(value: Any) -> bool:
    """Whether every string of a read document is text: a ``\\ud800`` escape is valid JSON but a lone
    surrogate, which no UTF-8 page, store or answer can hold (check it before keeping a value)."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


LONE_SURROGATE = "the body holds a lone surrogate escape (such as \\ud800): its strings must be text"


def loads(data: Union[bytes, str]) -> Any:
    """Raises ValueError (UnicodeDecodeError included) or RecursionError for what is not JSON."""
    return _DECODER.decode(text(data) if isinstance(data, bytes) else data)


def dumps(value: Any) -> bytes:
    """UTF-8 JSON; raises TypeError for what JSON cannot hold."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()
