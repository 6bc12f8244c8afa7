"""Small real files for ingestion tests."""

from __future__ import annotations

from knowledge.demo import make_docx  # noqa: F401 - the tests' DOCX files too


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF (one Helvetica text line per page line), readable by pypdf."""
    objects: list[bytes] = []
    n = len(pages)
    # 1: catalog, 2: pages, 3: font, then (page, content) pairs.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        lines = []
        for j, line in enumerate(text.split("\n")):
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            lines.append(f"BT /F1 12 Tf 72 {720 - 16 * j} Td ({safe}) Tj ET")
        stream = "\n".join(lines).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


SIZES_CSV = (
    b"Size (BR),Foot length (cm),Width,Notes\n"
    b"34,22.0,narrow,Children and petite feet\n"
    b"36,23.4,medium,Most popular size for adults\n"
    b"38,24.7,wide,Choose wide box for Egyptian feet\n"
)

RETURNS_MD = b"""# Returns policy

Intro paragraph about our promise to dancers.

## How to return

Returns are accepted within 30 days of delivery. Pointe shoes must be unworn, with no ribbons sewn.

## Refunds

Refunds are paid to the original payment method within 7 business days. PIX refunds arrive the same day.
"""

SHIPPING_HTML = """<!doctype html><html><head><title>Shipping</title><style>h1{color:red}</style></head>
<body><nav>Home | Shop</nav>
<h1>Shipping</h1><p>We ship from São Paulo to all of Brazil.</p>
<h2>Deadlines</h2><p>Capitals receive orders in 2 to 4 business days.</p><p>Other cities: up to 9 days.</p>
<h2>Costs</h2><ul><li>Free shipping on orders above R$ 300.</li><li>Below that, Correios rates apply.</li></ul>
<script>var tracking = "do not index me";</script>
</body></html>""".encode()

