"""Qunyun (群运): a community operations engine.

Layers, from the bottom up (see ARCHITECTURE.md and docs/architecture.md):
domain → privacy → store → analytics → ingest / lifecycle / sim → cli.
"""

__version__ = "0.1.0"
