"""MkDocs hook: the API reference is generated from the OpenAPI schema at every build.

``manage.py spectacular`` writes the schema the running app serves at ``/api/schema/``;
this hook renders it as plain Markdown (``api/reference.md``: operations by tag with their
parameters, bodies and responses, then the schemas) and publishes the schema itself as
``api/openapi.json``. No JavaScript and nothing fetched from a CDN. A schema that cannot
be generated fails the build.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


def generate_schema() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "openapi.json"
        done = subprocess.run(
            [sys.executable, "manage.py", "spectacular", "--format", "openapi-json", "--file", str(target)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        if done.returncode != 0:
            raise PluginError(f"manage.py spectacular failed:\n{done.stderr[-3000:]}")
        return json.loads(target.read_text())


def _cell(text: object) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return "schema-" + name.lower()


def _type(schema: dict) -> str:
    """A short, linked description of a schema's type."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    for combiner in ("allOf", "oneOf", "anyOf"):
        if combiner in schema:
            parts = [_type(part) for part in schema[combiner]]
            return (" or " if combiner != "allOf" else " and ").join(parts)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(f"`{value}`" for value in schema["enum"] if value is not None)
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    if schema.get("nullable"):
        kind += ", nullable"
    return kind


def _body(content: dict) -> list[str]:
    lines = []
    for media, spec in content.items():
        lines.append(f"- `{media}`: {_type(spec.get('schema', {}))}")
    return lines


def _operation(path: str, method: str, operation: dict) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [operation["summary"], ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    security = [name for requirement in operation.get("security", []) for name in requirement]
    if security:
        lines += ["Authentication: " + ", ".join(f"`{name}`" for name in sorted(set(security))), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "| --- | --- | --- | --- | --- |"]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {_cell(_type(parameter.get('schema', {})))} | "
                f"{'yes' if parameter.get('required') else 'no'} | {_cell(parameter.get('description'))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines += ["Request body" + (" (required)" if body.get("required") else "") + ":", ""]
        lines += _body(body.get("content", {})) + [""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        schema = next(iter(content.values()), {}).get("schema", {}) if content else {}
        lines.append(f"| {status} | {_cell(response.get('description'))} | {_cell(_type(schema)) if content else ''} |")
    return [*lines, ""]


def _schema(name: str, schema: dict) -> list[str]:
    lines = [f"### {name} {{#{_anchor(name)}}}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    properties = schema.get("properties")
    if not properties:
        return [*lines, f"Type: {_type({k: v for k, v in schema.items() if k != 'description'})}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for field, spec in properties.items():
        flags = " (read-only)" if spec.get("readOnly") else " (write-only)" if spec.get("writeOnly") else ""
        lines.append(f"| `{field}` | {_cell(_type(spec))}{flags} | {'yes' if field in required else 'no'} | "
                     f"{_cell(spec.get('description'))} |")
    return [*lines, ""]


def render(schema: dict) -> str:
    info = schema.get("info", {})
    lines = [
        "# API reference",
        "",
        f"Generated from the OpenAPI {schema.get('openapi', '3')} schema of {info.get('title', 'the API')} "
        f"{info.get('version', '')} at every docs build (the same schema the app serves at `/api/schema/`; "
        "download it as [openapi.json](openapi.json)). How to authenticate, paginate and read errors: "
        "[Using the API](index.md).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            if method in operations:
                tag = (operations[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, operations[method]))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, operation in by_tag[tag]:
            lines += _operation(path, method, operation)
    lines += ["## Schemas", ""]
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += _schema(name, spec)
    return "\n".join(lines)


def on_files(files, config):
    schema = generate_schema()
    files.append(File.generated(config, "api/reference.md", content=render(schema)))
    files.append(File.generated(config, "api/openapi.json", content=json.dumps(schema, indent=2)))
    return files
