"""Footnote's edges: answers, configuration, the CLI and the Discord bot."""
