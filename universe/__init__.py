"""The Calico Universe package: its sources (`package/`) and the build/render/serve tool.

`python -m universe build|render|serve`; see docs/universe.md.
"""
