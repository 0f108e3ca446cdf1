"""What STET's own OpenAPI documents say about funds-confirmations, as facts the tests can check against.

The documents themselves are kept outside the repository (the team's shared reference,
``stet-openapi/`` with its SOURCES.md): an unedited STET 1.5.0.43 and a bank's 1.4.0.47.
``tests/data/stet-reference-facts.json`` holds what ``facts`` takes from each: the operation's
security and responses (media types, schema, header names), the security schemes (names,
flow kinds, scopes) and the schemas the operation reaches, without prose (descriptions,
examples, ``x-`` comments) or the bank-edited URLs. ``test_stet_reference.py`` checks that the
file still equals what ``facts`` reads from the documents when they are at hand
(``STET_REFERENCE_DIR``, by default ``../shared/reference/stet-openapi`` next to the repository).

Regenerate: ``python tests/stet_reference.py``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
FACTS_FILE = ROOT / "tests" / "data" / "stet-reference-facts.json"
DOCUMENTS = {
    "1.4.0.47": "stet-v1.4.0.47-bnppf-sandbox-excerpt.json",
    "1.5.0.43": "stet-v1.5.0.43-yolt-bespoke-providers.json",
}
FUNDS = "/funds-confirmations"
PROSE = ("description", "example", "externalDocs")


def reference_dir() -> Optional[Path]:
    """Where the documents are, if they are on this machine."""
    configured = os.environ.get("STET_REFERENCE_DIR")
    folder = Path(configured) if configured else ROOT.parent / "shared" / "reference" / "stet-openapi"
    return folder if all((folder / name).is_file() for name in DOCUMENTS.values()) else None


def _schema_facts(schema: Any) -> Any:
    """A schema object without prose or ``x-`` keys (property names are kept, whatever they are)."""
    if not isinstance(schema, dict):
        return schema
    kept = {}
    for key, value in schema.items():
        if key in PROSE or key.startswith("x-"):
            continue
        if key == "properties":
            kept[key] = {name: _schema_facts(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            kept[key] = _schema_facts(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            kept[key] = [_schema_facts(sub) for sub in value]
        else:
            kept[key] = value
    return kept


def _refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[2:]
        node = document["components"][kind][name]
    return node


def _response_facts(document: dict, response: dict) -> dict:
    response = _resolve(document, response)
    content = response.get("content", {})
    return {
        "media": {media: body["schema"]["$ref"].rsplit("/", 1)[1] for media, body in content.items()},
        "headers": sorted(response.get("headers", {})),
    }


def facts(document: dict) -> dict:
    """The facts of one STET document about POST /funds-confirmations."""
    operation = document["paths"][FUNDS]["post"]
    responses = {status: _response_facts(document, r) for status, r in operation["responses"].items()}
    request_body = operation["requestBody"]["content"]
    reached = [name for r in responses.values() for name in r["media"].values()]
    reached += [ref.rsplit("/", 1)[1] for ref in _refs(request_body)]
    names: set = set()
    while reached:  # every schema the operation reaches, through its references
        name = reached.pop()
        if name not in names:
            names.add(name)
            reached += [ref.rsplit("/", 1)[1] for ref in _refs(document["components"]["schemas"][name])]
    schemes = document["components"]["securitySchemes"]
    return {
        "openapi": document["openapi"],
        "version": document["info"]["version"],
        "security": operation["security"],
        "request": sorted(request_body),
        "responses": responses,
        "securitySchemes": {
            name: {"type": scheme["type"],
                   "flows": {flow: sorted(spec.get("scopes", {})) for flow, spec in scheme.get("flows", {}).items()}}
            for name, scheme in schemes.items()
        },
        "schemas": {name: _schema_facts(document["components"]["schemas"][name]) for name in sorted(names)},
    }


def from_documents(folder: Path) -> dict:
    out = {}
    for stet, name in DOCUMENTS.items():
        raw = (folder / name).read_bytes()
        out[stet] = {"file": name, "sha256": hashlib.sha256(raw).hexdigest(), **facts(json.loads(raw))}
    return out


def load() -> dict:
    return json.loads(FACTS_FILE.read_text(encoding="utf-8"))


def validator(document_facts: dict, name: str) -> Draft202012Validator:
    """A JSON Schema validator for one of the document's schemas (OpenAPI 3.0 schemas use only keywords
    that JSON Schema 2020-12 reads the same way here: type, required, properties, maxLength, pattern, enum)."""
    return Draft202012Validator({"components": {"schemas": document_facts["schemas"]},
                                 "$ref": f"#/components/schemas/{name}"})


if __name__ == "__main__":
    folder = reference_dir()
    if folder is None:
        raise SystemExit("the STET documents are not here: set STET_REFERENCE_DIR")
    FACTS_FILE.parent.mkdir(exist_ok=True)
    FACTS_FILE.write_text(json.dumps(from_documents(folder), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {FACTS_FILE}")
