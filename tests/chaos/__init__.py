"""The chaos suite: seeded fault injection on the dev cluster with checked invariants.

`python -m tests.chaos --seeds N --agents M` runs N seeds and prints one JSON line; see
docs/chaos.md.
"""
