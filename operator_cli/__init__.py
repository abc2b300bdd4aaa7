"""The operator's command line: `python -m framework status|plan|pause|resume|retry|skip` and
the `dcos calico` subcommand the Universe package installs into the DC/OS CLI.

Standard library only, Python >= 3.8, so the same code runs from a checkout and as the
single-file `dcos-calico` the DC/OS CLI downloads (`python -m operator_cli.build`).
"""
