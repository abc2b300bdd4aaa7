"""The chaos suite: seeded fault injection on the dev cluster with checked invariants.

Each seed installs some hosts by the live path (Docker's cluster store by reload, no
restart slot) and the others by the restart path (their Docker already runs another store),
then changes the store (the restart path everywhere); faults land on either.

`python -m tests.chaos --seeds N --agents M` runs N seeds and prints one JSON line; see
docs/chaos.md.
"""
