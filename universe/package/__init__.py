"""The Universe package sources (data only): Jinja2 templates and static package files.

A Python package so that setup.cfg's package_data ships these files with `universe`.
"""
