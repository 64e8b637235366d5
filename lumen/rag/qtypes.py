"""What a question asks about: MedQuAD's question types (symptoms, treatment, outlook ...).

A multinomial logistic regression over MiniLM vectors, trained on MedQuAD's own questions
(``lumen lab retrieval qtypes``), ships as JSON in ``lumen/rag/model/``. The heading match
(:mod:`lumen.rag.headings`) reads it: a chunk whose heading asks what the question asks ("What is
the prognosis for ALS ?" for "what is the outlook for people with ALS") gains on one whose
heading only shares its words. Loading fails closed: a missing, altered or foreign file is a
:class:`QuestionTypesError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.model_files import checked_json, with_checksum, write_json_atomically
from lumen.errors import ComponentError
from lumen.safety.classifier import MINILM_IDENTITIES, LinearModel

FORMAT = "lumen-question-types"
VERSION = 1


class QuestionTypesError(ComponentError):
    """The question-type model cannot be used (missing, altered, or for another embedder)."""


def default_model_path() -> Path:
    """The shipped model file."""
    return Path(str(resources.files("lumen.rag").joinpath("model/question_types.json")))


@dataclass(frozen=True)
class QuestionTypes:
    """Question-type probabilities for unit vectors of the embedder it was trained with."""

    model: LinearModel
    embedder_identity: str
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def types(self) -> tuple[str, ...]:
        """The question types, in the order of the probability columns."""
        return self.model.classes

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """One row of type probabilities per vector."""
        return self.model.predict_proba(np.atleast_2d(np.asarray(vectors, dtype=np.float64)))

    def agreement(self, question_vector: np.ndarray, heading_vectors: np.ndarray) -> np.ndarray:
        """Per heading, the probability that it and the question ask the same type."""
        question = self.probabilities(question_vector)[0]
        result: np.ndarray = self.probabilities(heading_vectors) @ question
        return result

    def accepts(self, identity: str) -> bool:
        """Whether vectors of an embedder with ``identity`` fit (MiniLM's two backends agree)."""
        if identity == self.embedder_identity:
            return True
        return identity in MINILM_IDENTITIES and self.embedder_identity in MINILM_IDENTITIES

    def to_json(self) -> dict[str, Any]:
        """The model file's content, checksum included."""
        return with_checksum(
            {
                "format": FORMAT,
                "version": VERSION,
                "embedder_identity": self.embedder_identity,
                "model": self.model.to_json(),
                "training": self.training,
            }
        )

    def save(self, path: Path) -> None:
        """Write the model file (atomically)."""
        write_json_atomically(path, self.to_json())

    @classmethod
    def load(cls, path: Path | None = None) -> QuestionTypes:
        """Read and check a model file (the shipped one by default)."""
        path = path or default_model_path()
        try:
            data = checked_json(path.read_text(encoding="utf-8"), fmt=FORMAT, version=VERSION)
            coef = np.asarray(data["model"]["coef"], dtype=np.float64)
            if coef.ndim != 2:
                raise ValueError("coefficients are not a matrix")
            model = LinearModel.from_json(data["model"], int(coef.shape[1]))
            return cls(model, str(data["embedder_identity"]), dict(data.get("training", {})))
        except OSError as exc:
            raise QuestionTypesError(
                f"the question-type model {path} cannot be read ({exc.strerror or exc}); "
                "rebuild it with 'lumen lab retrieval qtypes' or set "
                "retrieval.heading_type_weight to 0"
            ) from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise QuestionTypesError(
                f"the question-type model {path} is invalid: {exc}; rebuild it with "
                "'lumen lab retrieval qtypes' or set retrieval.heading_type_weight to 0"
            ) from exc
