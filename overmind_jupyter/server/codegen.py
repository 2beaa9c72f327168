"""Code derived from the engine contract's operation table (``api.OPERATIONS``), written
into the source so that readers and type checkers follow it statically:

- ``labextension/src/api.gen.ts``: one interface per request model (from its JSON schema),
  ``Operations`` (each operation's method, path and request type) and ``ROUTES``;
- ``labextension/src/events.gen.ts``: the event types and each one's data fields, from
  ``events.PAYLOADS`` (``events.ts`` validates with them);
- the derived section of ``client.py``: one ``Client`` method per engine operation, with
  its ``EngineAPI`` signature, calling ``Client.operate``.

``tests/server/test_api_codegen.py`` fails when either is stale; regenerate both with
``python -m overmind_jupyter.server.codegen``.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

from .. import api, events

PACKAGE = Path(__file__).resolve().parents[1]
TARGET = PACKAGE.parent / "labextension" / "src" / "api.gen.ts"
CLIENT = PACKAGE / "client.py"
EVENTS_TS = PACKAGE.parent / "labextension" / "src" / "events.gen.ts"
HEADER = ("// Generated from overmind_jupyter/api/ by `python -m overmind_jupyter.server."
          "codegen`: do not edit.\n")
BEGIN = "    # -- derived from api.OPERATIONS by `python -m overmind_jupyter.server.codegen` --\n"
END = "    # -- end of the derived methods --\n"


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


_KINDS = {"string": "S", "integer": "N", "number": "N", "boolean": "B", "array": "A",
          "object": "O"}


def field_kind(prop: dict[str, Any], required: bool) -> str:
    """``events.ts``'s field spec for a payload field's JSON schema: a JSON kind or
    ``any``, with ``?`` when it may be absent or null."""
    kinds = [s.get("type", "any") for s in prop.get("anyOf", [prop])]
    nullable = "null" in kinds or not required
    kinds = [k for k in kinds if k != "null"]
    kind = _KINDS.get(kinds[0], "'any'") if len(set(kinds)) == 1 else (
        "N" if set(kinds) == {"number", "integer"} else "'any'")
    if kind == "'any'":
        return "'any?'" if nullable else "'any'"
    return f"{kind}_" if nullable else kind


def events_source() -> str:
    """``events.gen.ts``: ``EVENT_TYPES`` and each type's ``DATA_FIELDS``."""
    rows = []
    for type_ in events.EVENT_ORDER:
        schema = events.PAYLOADS[type_].model_json_schema()
        required = set(schema.get("required", []))
        fields = ", ".join(f"{name}: {field_kind(prop, name in required)}"
                           for name, prop in schema.get("properties", {}).items())
        rows.append(f"  '{type_}': {{ {fields} }},")
    types = "\n".join(f"  '{t}'," for t in events.EVENT_ORDER)
    return ("// Generated from overmind_jupyter/events.py by `python -m overmind_jupyter.server."
            "codegen`: do not edit.\n\n/** Every event type, in the order of `events.py`. */\n"
            f"export const EVENT_TYPES = [\n{types}\n] as const;\n\n"
            "export type EventType = (typeof EVENT_TYPES)[number];\n\n"
            "/** A data field's JSON kind (`any`: any), `?`: it may be absent or null. */\n"
            "export type FieldSpec =\n  | 'string' | 'number' | 'boolean' | 'array' | "
            "'object' | 'any'\n  | 'string?' | 'number?' | 'boolean?' | 'array?' | "
            "'object?' | 'any?';\n\n"
            "const S = 'string', N = 'number', B = 'boolean', A = 'array', O = 'object';\n"
            "const S_ = 'string?', N_ = 'number?', B_ = 'boolean?', A_ = 'array?', "
            "O_ = 'object?';\n\n"
            "/** The fields each event type's data has (from `events.PAYLOADS`). */\n"
            "export const DATA_FIELDS: Record<EventType, Record<string, FieldSpec>> = {\n"
            + "\n".join(rows) + "\n};\n")


def _parameter(p: inspect.Parameter) -> str:
    text = f"**{p.name}" if p.kind is p.VAR_KEYWORD else p.name
    if p.annotation is not p.empty:
        text += f": {p.annotation}"
    if p.default is not p.empty:
        text += f" = {p.default!r}"
    return text


def client_method(op: api.Operation) -> str:
    """The source of ``Client.<op.name>``: the contract's signature, one ``operate`` call."""
    sig = inspect.signature(getattr(api.EngineAPI, op.name))
    params = list(sig.parameters.values())
    head = f"    async def {op.name}(" + ", ".join(_parameter(p) for p in params) + \
        f") -> {sig.return_annotation}:"
    if len(head) > 100:  # one parameter per line, as a formatter would
        head = (f"    async def {op.name}(\n" + "".join(f"        {_parameter(p)},\n"
                                                      for p in params)
                + f"    ) -> {sig.return_annotation}:")
    args = ", ".join(f"**{p.name}" if p.kind is p.VAR_KEYWORD else f"{p.name}={p.name}"
                     for p in params[1:])
    call = f'        return await self.operate(api.BY_NAME["{op.name}"]' + \
        (f", {args})" if args else ")")
    return "\n".join([head, f'        """``{op.method} {op.path}``: see '
                      f'``EngineAPI.{op.name}``."""', _wrapped(call, 12)]) + "\n"


def _wrapped(line: str, indent: int = 8, width: int = 100) -> str:
    """``line`` broken after commas so that no line passes ``width``."""
    if len(line) <= width:
        return line
    cut = line.rfind(", ", 0, width - 1)
    return line[:cut + 1] + "\n" + _wrapped(" " * indent + line[cut + 2:], indent, width)


def client_section() -> str:
    """The derived section of ``client.py`` (markers included)."""
    methods = [client_method(op) for op in api.OPERATIONS
               if op.engine and op.name not in HAND_WRITTEN]
    return BEGIN + "\n".join(methods) + END


HAND_WRITTEN = frozenset({"wait"})  # long-polled in slices (the server would time out)


def client_source(current: str) -> str:
    """``client.py``'s text with its derived section replaced."""
    start, end = current.index(BEGIN), current.index(END) + len(END)
    return current[:start] + client_section() + current[end:]


if __name__ == "__main__":
    TARGET.write_text(source())
    EVENTS_TS.write_text(events_source())
    CLIENT.write_text(client_source(CLIENT.read_text()))
    sys.stdout.write(f"wrote {TARGET}, {EVENTS_TS} and {CLIENT}\n")
