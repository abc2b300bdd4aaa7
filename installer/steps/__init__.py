"""One module per installer subcommand; each exposes `run(host, options) -> Outcome`."""
