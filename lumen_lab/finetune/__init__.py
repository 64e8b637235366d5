"""Fine-tuning: recipes, instruction data, LoRA/QLoRA training, merging, GGUF export, evaluation.

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that need
them; without the ``finetune`` extra a command fails with a one-line MissingExtraError.
"""
