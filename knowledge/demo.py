"""The demo store's knowledge base: Bailarina Dancewear's policies and guides (idempotent).

Documents are ingested synchronously so the demo answers at once; running again adds
nothing (same content, same collection: the content hash matches).
"""

from __future__ import annotations

from knowledge import services
from knowledge.models import Document

SHIPPING_HTML = """<!doctype html>
<html lang="pt-br"><head><title>Frete e entregas</title></head><body>
<h1>Frete e entregas</h1>
<p>Enviamos para todo o Brasil a partir da nossa loja na Rua Augusta, em São Paulo.</p>
<h2>Prazos</h2>
<p>Postamos em até 2 dias úteis após a confirmação do pagamento. Pelo SEDEX, capitais
recebem em 1 a 3 dias úteis; pelo PAC, em 4 a 9 dias úteis. Interior e Norte/Nordeste podem
levar até 12 dias úteis pelo PAC.</p>
<h2>Valores</h2>
<ul><li>Frete grátis (PAC) para compras acima de R$ 299,00.</li>
<li>Abaixo disso, o valor é calculado pelo CEP no carrinho.</li>
<li>Retirada grátis na loja, de segunda a sábado, no mesmo dia do pagamento.</li></ul>
<h2>Rastreamento</h2>
<p>O código de rastreio dos Correios é enviado por WhatsApp e e-mail assim que o pedido é
postado.</p>
</body></html>
"""

RETURNS_MD = """# Trocas e devoluções

## Troca de tamanho
A primeira troca de tamanho é grátis em até 30 dias após o recebimento. O produto deve estar
sem uso, com etiqueta e na embalagem original.

## Sapatilhas de ponta
Sapatilhas de ponta só podem ser trocadas se não tiverem sido usadas, costuradas (fitas ou
elásticos) nem tiverem a sola marcada. Experimente em casa sobre um tapete limpo.

## Arrependimento e reembolso
Pelo Código de Defesa do Consumidor, compras online podem ser devolvidas em até 7 dias
corridos. O reembolso volta pelo mesmo meio de pagamento: PIX em até 1 dia útil, cartão em
até 2 faturas.

## Como solicitar
Envie o número do pedido pelo WhatsApp +55 11 4002-8922 e enviaremos a etiqueta de
postagem reversa.
"""

PAYMENT_MD = """# Formas de pagamento

## PIX
Pagamentos por PIX têm 5% de desconto. O código PIX (copia e cola e QR Code) vale por 30
minutos; depois disso o pedido é cancelado e o estoque é liberado. A confirmação é automática.

## Cartão de crédito
Parcelamos em até 6x sem juros nos cartões Visa, Mastercard, Elo e Amex (parcela mínima de
R$ 50,00).

## Boleto
O boleto vence em 2 dias úteis e a compensação leva até 3 dias úteis.
"""

POINTE_GUIDE_MD = """# Guia de tamanhos: sapatilhas de ponta

## Como medir o pé
Meça o pé no fim da tarde, em pé, sobre uma folha de papel: marque o calcanhar e o dedo
mais longo e meça a distância em centímetros. Meça os dois pés e use a maior medida.

## Escolhendo o tamanho
Sapatilhas de ponta devem ficar justas, sem espaço na ponta quando você sobe na ponta, mas
sem dobrar os dedos. Na dúvida entre dois tamanhos, escolha o menor e a largura maior.

## Largura e formato do pé
Pés egípcios (dedão mais longo) pedem box mais afunilado; pés gregos ou quadrados pedem box
largo. A primeira sapatilha de ponta deve ser escolhida com a professora.
"""

SIZES_CSV = """Tamanho BR,Comprimento do pé (cm),Largura,Indicação
33,21.5,estreita,Infantil e pés pequenos
34,22.2,média,Pés finos
35,22.9,média,Mais vendido no infantil
36,23.6,média,Mais vendido no adulto
37,24.3,larga,Pés largos ou quadrados
38,25.0,larga,Pés largos
"""

ABOUT_TXT = """A Bailarina Dancewear é uma loja de artigos de balé em São Paulo desde 2009.
Vendemos sapatilhas de ponta e meia ponta, collants, meias, saias e acessórios.
Atendimento na loja: segunda a sexta das 9h às 19h e sábado das 9h às 14h.
Atendimento por WhatsApp no mesmo horário; fora dele, respondemos no próximo dia útil."""


CARE_DOCX_BLOCKS = [
    ("h1", "Cuidados com as sapatilhas"),
    ("p", "Depois da aula, tire as sapatilhas da bolsa e deixe secar ao ar livre, longe do sol."),
    ("h2", "Sapatilhas de ponta"),
    ("p", "Costure fitas e elásticos com linha encerada. Nunca lave a sapatilha de ponta: a "
          "água amolece a caixa. Troque quando a caixa ou a palmilha perderem a firmeza."),
    ("table", [["Uso por semana", "Duração média"], ["Até 3 aulas", "3 a 4 meses"],
               ["Diário", "4 a 8 semanas"]]),
]
def make_docx(blocks: list[tuple[str, str | list[list[str]]]]) -> bytes:
    """A minimal valid Word document (the parts Word itself needs): ``("h1", text)``,
    ``("h2", text)``, ``("p", text)`` or ``("table", rows)`` blocks, in order."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    def paragraph(text: str, style: str = "") -> str:
        props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        return f"<w:p>{props}<w:r><w:t xml:space=\"preserve\">{escape(text)}</w:t></w:r></w:p>"

    body = []
    for kind, content in blocks:
        if kind == "table":
            rows = "".join(
                "<w:tr>" + "".join(f"<w:tc>{paragraph(cell)}</w:tc>" for cell in row) + "</w:tr>"
                for row in content
            )
            body.append(f"<w:tbl>{rows}</w:tbl>")
        else:
            body.append(paragraph(content, {"h1": "Heading1", "h2": "Heading2"}.get(kind, "")))
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{''.join(body)}</w:body></w:document>"
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in (
            ("[Content_Types].xml", content_types), ("_rels/.rels", rels),
            ("word/document.xml", document),
        ):
            # A fixed timestamp: the same blocks give the same bytes (uploads dedupe by hash).
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), part,
                             compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def populate() -> None:
    """Two collections with the store's policies and guides, ingested now (idempotent)."""
    store = services.store_settings()
    if store.search_language != "portuguese":
        store.search_language = "portuguese"
        store.save(update_fields=["search_language"])
    general = services.create_collection("General", description="A loja e guias de produtos.")
    policies = services.create_collection("Policies", description="Frete, trocas e pagamentos.")
    files = [
        (policies, "frete-e-entregas.html", "Frete e entregas", SHIPPING_HTML),
        (policies, "trocas-e-devolucoes.md", "Trocas e devoluções", RETURNS_MD),
        (policies, "pagamentos.md", "Formas de pagamento", PAYMENT_MD),
        (general, "guia-sapatilhas-de-ponta.md", "Guia de tamanhos: sapatilhas de ponta", POINTE_GUIDE_MD),
        (general, "tabela-de-medidas.csv", "Tabela de medidas", SIZES_CSV),
        (general, "sobre-a-loja.txt", "Sobre a loja", ABOUT_TXT),
    ]
    files.append(
        (general, "cuidados-com-as-sapatilhas.docx", "Cuidados com as sapatilhas",
         make_docx(CARE_DOCX_BLOCKS))
    )
    for collection, filename, title, content in files:
        data = content if isinstance(content, bytes) else content.encode()
        added = services.upload_document(
            collection.pk, filename=filename, data=data, title=title, ingest="none"
        )
        if added.document.status != Document.Status.READY:
            services.ingest_document(added.document.pk)
