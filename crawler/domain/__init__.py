"""The domain: what sosik is about, importing nothing else of ours.

Items (`items`), URLs and their canonical form (`urls`), KST dates (`dates`), text
normalisation (`text`), identity keys and hashing (`keys`), outcome lists (`outcomes`) and the
portals table (`portals`). Every other layer imports from here; this package imports only the
standard library (tests/test_layers.py enforces it). docs/architecture.md draws the layers.
"""
