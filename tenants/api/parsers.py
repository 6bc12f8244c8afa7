"""JSON bodies the database can store: no NUL character, no unpaired surrogate.

PostgreSQL's text and jsonb refuse both, so without this check such a body (a client bug,
a fuzzer) would pass validation and fail at the INSERT as a 500. It is refused up front
as a 400 naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import exceptions, parsers

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(str(key)):
                return path or "body"
            found = _unstorable_path(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


class StorableJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        path = _unstorable_path(data, "")
        if path:
            field = path.split(".", 1)[0].split("[", 1)[0] or "body"
            raise exceptions.ValidationError(
                {field: [f"{path}: text with a NUL character or an unpaired surrogate cannot be stored."]}
            )
        return data
