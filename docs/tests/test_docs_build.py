"""The docs site builds with ``mkdocs build --strict`` (any warning fails it), its API
reference is generated from the app's current OpenAPI schema, and no page loads anything
from another host."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_build_strictly_with_the_api_reference_from_the_schema(tmp_path):
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )

    assert built.returncode == 0, built.stdout + built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    schema = json.loads((site / "api" / "openapi.json").read_text())
    reference = (site / "api" / "reference" / "index.html").read_text()
    for path, operations in schema["paths"].items():
        for method in operations.keys() & {"get", "post", "put", "patch", "delete"}:
            assert f"{method.upper()} {path}" in reference
    assert "/api/v1/dashboard" in schema["paths"]
    for page in ["index.html", "operators/channels/index.html", "operators/install/index.html",
                 "operators/deploy/index.html", "operators/reindex/index.html", "operators/keys/index.html",
                 "operators/backups/index.html", "operators/stores/index.html", "api/index.html"]:
        html = (site / page).read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html), page
