"""Benchmarks: retrieval tuning on MultiHop-RAG and ANN speed at scale (not shipped)."""
