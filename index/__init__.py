"""Footnote's library: articles -> chunks -> vectors + keyword index -> ranked passages."""
