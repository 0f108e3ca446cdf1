"""Request and response validation against the STET JSON Schemas in ``schemas/``.

Validators are compiled once at start, one per version and definition, so the
request path only runs them. A valid body is confirmed by a validator compiled
to Python code (fastjsonschema, ~25x faster: it is on every API call); only a
failing body goes through ``jsonschema``, whose errors become one short message
that names the failing field the way a TPP developer reads it
(``instructedAmount.amount``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match

from .resources import schemas_dir


def field_path(path: Any) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _reason(error: ValidationError) -> str:
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


def describe(error: ValidationError) -> str:
    """``<field path>: <reason>``; a missing field is named by its own full path."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = next((n for n in error.validator_value if n not in error.instance), error.validator_value[0])
        return f"{field_path(path + [missing])}: is required"
    return f"{field_path(path) or 'body'}: {_reason(error)}"


@dataclass(frozen=True)
class SchemaSet:
    """The validators of one schema file, by ``$defs`` name."""

    filename: str
    document: dict
    validators: dict

    def problem(self, definition: str, instance: Any) -> Optional[str]:
        """The most relevant problem with ``instance``, or None when it is valid."""
        try:
            compiled(self.filename, definition)(instance)
            return None
        except fastjsonschema.JsonSchemaException:
            error = best_match(self.validators[definition].iter_errors(instance))
            return None if error is None else describe(error)

    def errors(self, definition: str, instance: Any) -> list[str]:
        return [describe(e) for e in self.validators[definition].iter_errors(instance)]


def _definitions(document: dict) -> dict[str, dict]:
    """Each definition as a schema of its own; the document's top-level rules must not apply to them."""
    frame = {k: document[k] for k in ("$schema", "$id", "$defs") if k in document}
    return {name: {**frame, "$ref": f"#/$defs/{name}"} for name in document.get("$defs", {})}


@lru_cache(maxsize=None)
def schema_set(filename: str) -> SchemaSet:
    """Load a schema file once per process."""
    document = json.loads((schemas_dir() / filename).read_text(encoding="utf-8"))
    validators = {name: Draft202012Validator(schema) for name, schema in _definitions(document).items()}
    return SchemaSet(filename, document, validators)


@lru_cache(maxsize=None)
def compiled(filename: str, definition: str) -> Callable[[Any], Any]:
    """One definition compiled to Python (a few ms each): only those a request path uses are ever built."""
    schema = _definitions(schema_set(filename).document)[definition]
    # 2020-12 semantics: "format" annotates and "default" documents; neither may change a body.
    return fastjsonschema.compile(schema, use_default=False, use_formats=False)
