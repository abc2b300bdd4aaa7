"""The web tests' app and scripted rollout, for the CLI to talk to."""

from tests.web.conftest import app, artifacts_dir, health, make_app, rollout  # noqa: F401
