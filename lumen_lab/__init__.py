"""Lumen's lab: evaluation, fine-tuning and model training, apart from the product.

The lab reaches the product through its public composition API (``lumen.factory``) and
its parts; the product never imports the lab. Its commands join ``lumen`` through the
``lumen.cli`` entry points (``lumen eval``, ``lumen finetune``, ``lumen lab``).
"""
