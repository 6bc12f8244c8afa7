from __future__ import annotations

from knowledge import demo
from knowledge.models import Collection, Document
from knowledge.search import search


def test_the_demo_store_answers_from_its_policies_and_running_again_adds_nothing(store):
    demo.populate()
    assert set(Collection.objects.values_list("name", flat=True)) == {"General", "Policies"}
    assert set(Document.objects.values_list("status", flat=True)) == {"ready"}
    count = Document.objects.count()
    demo.populate()
    assert Document.objects.count() == count == 7
    hit = search("tem desconto no pix?", top_k=1)[0]
    assert (hit.document_title, hit.heading) == ("Formas de pagamento", "Formas de pagamento > PIX")
    hit = search("qual tamanho de sapatilha para pé de 24 cm", top_k=3)
    assert "Tabela de medidas" in {h.document_title for h in hit}
    hit = search("posso lavar a sapatilha de ponta?", top_k=1)[0]  # from the Word document
    assert hit.document_title == "Cuidados com as sapatilhas"
