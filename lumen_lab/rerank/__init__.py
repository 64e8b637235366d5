"""The reranker recipe: a cross-encoder trained on MedQuAD question → answer-passage pairs."""
