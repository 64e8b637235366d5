"""Hand-made chunks for the verifier tests."""

from lumen.documents import Chunk
from lumen.rag.retrieve import RetrievedChunk


def retrieved(doc: str, text: str, *, title: str = "", score: float = 0.5) -> RetrievedChunk:
    chunk = Chunk(
        id=f"{doc}#0",
        doc_id=doc,
        collection="knowledge",
        source="test",
        title=title or doc,
        section="",
        url=f"https://example.org/{doc}",
        text=text,
        position=0,
        n_chunks=1,
        doc_hash="h",
    )
    return RetrievedChunk(chunk=chunk, score=score, dense_score=None)


GLAUCOMA = retrieved(
    "glaucoma",
    "Glaucoma is a group of diseases that can damage the eye's optic nerve and result in vision "
    "loss and blindness. Open-angle glaucoma is the most common form. Treatment usually starts "
    "with prescription eye drops that lower the pressure in the eye. Laser trabeculoplasty and "
    "conventional surgery are other treatments.",
    title="Glaucoma",
)
METFORMIN = retrieved(
    "metformin",
    "Metformin is used with diet and exercise to improve blood sugar control in adults with type 2 "
    "diabetes. The usual starting dose is 500 mg twice a day with meals. Lactic acidosis is a rare "
    "but serious side effect.",
    title="Metformin",
)
