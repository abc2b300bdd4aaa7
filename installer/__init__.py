"""The agent-side installer: stdlib only, Python >= 3.6, shipped as calico-installer.pyz."""
