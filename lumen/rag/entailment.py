"""The entailment model: (sentence, evidence) → P(the evidence entails the sentence).

A MiniLM cross-encoder trained by ``lumen lab verifier`` and exported to int8 ONNX, installed
in ``lumen/models/verifier`` (or any folder, ``verify.model_dir``). The folder
holds ``model-int8.onnx``, ``tokenizer.json`` and ``manifest.json`` (sha256 of both files,
the decision threshold, the base model, the training data's hash and the dev metrics).
Loading fails closed: a missing, altered or unreadable file raises
:class:`VerifierModelError`, and Lumen then answers nothing rather than unchecked text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lumen.components.model_files import file_sha256
from lumen.components.onnx_runtime import cpu_session, pair_feeds
from lumen.errors import ComponentError, MissingExtraError

FORMAT = "lumen-entailment-verifier"
MODEL_FILE = "model-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"


#: Evidence sentences read with each claim: the ones sharing most of its terms, in order.
EVIDENCE_SENTENCES = 4


def select_evidence(
    claim_terms: frozenset[str],
    sentences: Sequence[str],
    sentence_terms: Sequence[frozenset[str]],
    *,
    k: int = EVIDENCE_SENTENCES,
) -> str:
    """The ``k`` sentences sharing most terms with the claim, joined in their own order.

    The model reads these rather than the whole chunk: short inputs keep it fast on two
    cores, and training and checking select the same way.
    """
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(claim_terms & sentence_terms[i]), i))
    return " ".join(sentences[i] for i in sorted(ranked[:k]))


class VerifierModelError(ComponentError):
    """The entailment model is missing, altered or cannot be loaded."""


def default_model_dir() -> Path:
    """Where ``lumen lab verifier install`` puts the verifier inside the package."""
    return Path(str(resources.files("lumen") / "models" / "verifier"))


def manifest_checksum(data: dict[str, Any]) -> str:
    """sha256 of the manifest's content without its own checksum field."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says about the model."""

    threshold: float
    max_tokens: int
    files: dict[str, str]  # file name → sha256
    raw: dict[str, Any]

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """Parse and check the manifest; any problem is a VerifierModelError."""
        path = folder / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a Lumen entailment verifier manifest")
            if data.get("checksum") != manifest_checksum(data):
                raise ValueError("checksum mismatch (the manifest is damaged or was edited)")
            files = {str(k): str(v) for k, v in data["files"].items()}
            if set(files) != {MODEL_FILE, TOKENIZER_FILE}:
                raise ValueError(f"the manifest lists {sorted(files)}")
            threshold = float(data["threshold"])
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold {threshold} is not a probability")
            return cls(threshold, int(data["max_tokens"]), files, data)
        except OSError as exc:
            raise VerifierModelError(
                f"the verifier manifest {path} cannot be read ({exc.strerror or exc}); answers "
                "cannot be checked, so none will be given"
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise VerifierModelError(
                f"the verifier manifest {path} is invalid: {exc}; answers cannot be checked"
            ) from exc


class EntailmentModel:
    """Scores (sentence, evidence) pairs with the int8 ONNX cross-encoder."""

    def __init__(self, folder: Path | None = None, *, threads: int = 0) -> None:
        folder = Path(folder) if folder is not None else default_model_dir()
        if not folder.is_dir():
            raise VerifierModelError(
                f"no entailment verifier in {folder}: train and install one (docs/verifier.md) "
                "or set verify.model to lexical; answers cannot be checked, so none will be given"
            )
        manifest = Manifest.read(folder)
        for name, expected in manifest.files.items():
            path = folder / name
            if not path.is_file():
                raise VerifierModelError(
                    f"the verifier file {path} is missing; answers cannot be checked, so none "
                    "will be given"
                )
            if file_sha256(path) != expected:
                raise VerifierModelError(
                    f"the verifier file {path} does not match its checksum (damaged or edited); "
                    "answers cannot be checked, so none will be given"
                )
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("onnxruntime", "embedded") from exc
        try:
            self._session = cpu_session(folder / MODEL_FILE, threads=threads, what="verifier")
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except MissingExtraError:
            raise
        except Exception as exc:  # a ComponentError, or tokenizers' own untyped error
            raise VerifierModelError(f"cannot load the verifier in {folder}: {exc}") from exc
        tokenizer.enable_truncation(
            max_length=manifest.max_tokens, strategy="longest_first", direction="left"
        )
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
        self._tokenizer = tokenizer
        self._manifest = manifest
        self._folder = folder

    @property
    def threshold(self) -> float:
        """P(entailed) a sentence needs, chosen on the validation split."""
        return self._manifest.threshold

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest's content."""
        return dict(self._manifest.raw)

    def logits(self, pairs: Sequence[tuple[str, str]], *, batch_size: int = 1) -> np.ndarray:
        """The model's logit for each (sentence, evidence) pair.

        One pair per run by default: dynamic int8 quantisation scales activations over the
        whole batch, padding included, so a pair scored in a batch would depend on its
        neighbours; alone, a sentence gets the same score whatever the rest of the answer.
        """
        out = np.zeros(len(pairs), dtype=np.float32)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([pairs[i] for i in idx])
            logits = self._session.run(None, pair_feeds(encodings))[0]
            out[idx] = np.asarray(logits, dtype=np.float32).reshape(-1)
        return out

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """P(entailed) for each (sentence, evidence) pair."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        result: np.ndarray = 1.0 / (1.0 + np.exp(-self.logits(pairs)))
        return result
