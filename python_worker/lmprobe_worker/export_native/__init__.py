"""Exporting a model for native (Python-free) inference: the ``export_native`` RPC's machinery.

``truncated.py`` builds the module that runs the embeddings and blocks 0..max(layer) and returns
the probed blocks' outputs; ``onnx_export.py`` writes it as ONNX with torch's exporter;
``tokenizer_files.py`` writes ``tokenizer.json`` and the tokenizer settings the SDK applies.
"""
