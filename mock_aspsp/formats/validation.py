"""Validation against the JSON Schemas in ``schemas/`` (STET per version, the scenario format).

A valid document is confirmed by a validator compiled to Python code
(fastjsonschema, ~25x faster than interpreting the schema: it runs on every
API call). Only a failing document goes through ``jsonschema``, imported then,
whose errors become short messages that name the failing field the way a TPP
developer reads it (``instructedAmount.amount``).

Both read a pattern's ``$`` as JSON Schema means it (ECMA-262: the end of the
text), not as Python's ``re`` does (also just before a final newline): so
``"EUR\n"`` fails ``^[A-Z]{3}$`` in both, and neither accepts what the other refuses.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import fastjsonschema

from ..resources import schemas_dir
from .quoting import quoted

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")  # the rewrite fastjsonschema applies to every pattern


def field_path(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _reason(error: "ValidationError") -> str:
    """A short, instance-free reason: the ErrorModel message is limited to 140 characters."""
    rule, value = error.validator, error.validator_value
    if rule == "required":
        missing = next((name for name in value if name not in error.instance), value[0])
        return f"'{missing}' is required"
    if rule == "maxLength":
        return f"must be at most {value} characters long"
    if rule == "minLength":
        return f"must be at least {value} characters long"
    if rule == "pattern":
        return f"has an invalid format (expected pattern {value})"
    if rule == "type":
        kinds = value if isinstance(value, list) else [value]
        return "must be " + " or ".join(f"a{'n' if k[0] in 'aeiou' else ''} {k}" for k in kinds)
    if rule == "enum":
        return "must be one of " + ", ".join(map(str, value))
    if rule in ("exclusiveMaximum", "maximum"):
        return f"must be below {value}"
    if rule in ("exclusiveMinimum", "minimum"):
        return f"must be above {value}"
    if rule == "additionalProperties":
        return "has unexpected properties"
    return error.message[:100]


def describe(error: "ValidationError", root: str = "body") -> str:
    """``<field path>: <reason>``; a missing field is named by its own full path, the instance itself by ``root``."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = next((n for n in error.validator_value if n not in error.instance), error.validator_value[0])
        return f"{field_path(path + [missing])}: is required"
    return f"{field_path(path) or root}: {_reason(error)}"


# What a document refused by the compiled validator gets if the reference one finds no error to word:
# it is still refused, never taken as valid.
DISAGREEMENT = "body: does not match the schema"


@dataclass(frozen=True)
class SchemaSet:
    """One schema file; ``definition`` None means the document itself, else one of its ``$defs``."""

    filename: str
    document: dict

    def problem(self, definition: Optional[str], instance: Any) -> Optional[str]:
        """The most relevant problem with ``instance``, or None when it is valid."""
        try:
            compiled(self.filename, definition)(instance)
            return None
        except fastjsonschema.JsonSchemaException:
            from jsonschema.exceptions import best_match

            error = best_match(jsonschema_validator(self.filename, definition).iter_errors(instance))
            return DISAGREEMENT if error is None else describe(error)

    def errors(self, definition: Optional[str], instance: Any, root: str = "body") -> list[str]:
        return [describe(e, root) for e in self.validation_errors(definition, instance)]

    def validation_errors(self, definition: Optional[str], instance: Any) -> list["ValidationError"]:
        """Every jsonschema error, cheaply empty for a valid instance (never empty for an invalid one)."""
        try:
            compiled(self.filename, definition)(instance)
            return []
        except fastjsonschema.JsonSchemaException:
            from jsonschema import ValidationError

            errors = list(jsonschema_validator(self.filename, definition).iter_errors(instance))
            return errors or [ValidationError("does not match the schema", validator="schema", instance=instance)]


def _schema(document: dict, definition: Optional[str]) -> dict:
    """A definition as a schema of its own; the document's top-level rules must not apply to it."""
    if definition is None:
        return document
    frame = {k: document[k] for k in ("$schema", "$id", "$defs") if k in document}
    return {**frame, "$ref": f"#/$defs/{definition}"}


@lru_cache(maxsize=None)
def schema_set(filename: str) -> SchemaSet:
    """Load a schema file once per process."""
    return SchemaSet(filename, json.loads((schemas_dir() / filename).read_text(encoding="utf-8")))


@lru_cache(maxsize=None)
def compiled(filename: str, definition: Optional[str]) -> Callable[[Any], Any]:
    """Compiled to Python (a few ms each): only what is used is ever built."""
    # 2020-12 semantics: "format" annotates and "default" documents; neither may change a document.
    # Only the verdict is used (jsonschema words the errors): without detailed exceptions the code is a
    # third of the size and the scenario schema compiles in a fifth of the time, a sixth of the start-up.
    # (fastjsonschema 2.22 fails on "const" without them: the schemas use a one-value "enum" instead.)
    return fastjsonschema.compile(_schema(schema_set(filename).document, definition),
                                  use_default=False, use_formats=False, detailed_exceptions=False)


@lru_cache(maxsize=256)
def _end_anchored(pattern: str) -> "re.Pattern[str]":
    return re.compile(_UNESCAPED_DOLLAR.sub(r"\\Z", pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator["ValidationError"]:
    """jsonschema's ``pattern`` keyword with ``$`` read as the end of the text (see the module's docstring)."""
    from jsonschema import ValidationError

    if validator.is_type(instance, "string") and not _end_anchored(pattern).search(instance):
        yield ValidationError(f"{quoted(instance)} does not match {pattern!r}")


@lru_cache(maxsize=None)
def jsonschema_validator(filename: str, definition: Optional[str]) -> "Draft202012Validator":
    """The reference validator, built (and jsonschema imported) only to explain a failure."""
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend

    validator = extend(Draft202012Validator, {"pattern": _pattern})
    return validator(_schema(schema_set(filename).document, definition))
