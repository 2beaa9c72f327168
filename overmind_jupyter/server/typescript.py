"""The TypeScript mirror of the engine contract: ``labextension/src/api.gen.ts``.

Generated from ``api.OPERATIONS``: one interface per request model (from its JSON schema)
and ``OPERATIONS``, each operation's method, path and request type, which the views'
typed ``Backend.call`` overloads use. ``tests/server/test_api_typescript.py`` fails when the
file is stale (regenerate: ``python -m overmind_jupyter.server.typescript``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import api

TARGET = Path(__file__).resolve().parents[2] / "labextension" / "src" / "api.gen.ts"
HEADER = ("// Generated from overmind_jupyter/api.py by `python -m overmind_jupyter.server."
          "typescript`: do not edit.\n")


def ts_type(schema: dict[str, Any]) -> str:
    """A TypeScript type for a JSON schema fragment (pydantic's subset)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return " | ".join(_literal(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(ts_type(s) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"Array<{ts_type(schema.get('items', {}))}>"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"Record<string, {ts_type(extra)}>" if isinstance(extra, dict) else \
            "Record<string, unknown>"
    return {"string": "string", "integer": "number", "number": "number",
            "boolean": "boolean", "null": "null"}.get(kind or "", "unknown")


def _literal(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value).lower()


def interface(name: str, schema: dict[str, Any]) -> str:
    """``export interface NAME {...}``; fields with a default are optional."""
    required = set(schema.get("required", []))
    lines = [f"export interface {name} {{"]
    for field, prop in schema.get("properties", {}).items():
        optional = "" if field in required else "?"
        lines.append(f"  {field}{optional}: {ts_type(prop)};")
    return "\n".join([*lines, "}"])


def source() -> str:
    """The whole file's text."""
    models: dict[str, dict[str, Any]] = {}
    for op in api.OPERATIONS:
        schema = op.params.model_json_schema(by_alias=True)
        for name, sub in schema.pop("$defs", {}).items():
            models[name] = sub
        models[op.params.__name__] = schema
    parts = [HEADER] + [interface(name, schema) + "\n" for name, schema in sorted(
        models.items())]
    rows = [f"  {op.name}: {{ method: '{op.method}'; path: '{op.path}'; request: "
            f"{op.params.__name__} }};" for op in api.OPERATIONS]
    parts.append("/** Every operation of the host REST API (relative to "
                 "`<base>overmind/api/`). */\nexport interface Operations {\n"
                 + "\n".join(rows) + "\n}\n")
    parts.append("export const ROUTES: ReadonlyArray<readonly ['GET' | 'POST', string]> = [\n"
                 + "\n".join(f"  ['{op.method}', '{op.path}']," for op in api.OPERATIONS)
                 + "\n];\n")
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(source())
    sys.stdout.write(f"wrote {TARGET}\n")
