"""The trained reader: a small BERT span model that reads a question against a passage.

model.py loads the shipped int8 ONNX file (sha256-checked) and reads; squad.py makes training
and evaluation examples from SQuAD; train.py trains and exports it; evaluate.py scores it.
Training needs torch and transformers; reading needs only onnxruntime and tokenizers.
"""
