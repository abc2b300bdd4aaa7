"""Simulated DC/OS agent hosts: a directory standing for `/` plus stateful stand-ins.

`prepare.prepare_host` builds one; the stand-ins under `ROOT/bin` (`systemctl`, `docker`)
keep their state under `ROOT/var/lib/devcluster/` and log unit actions to the events file.
Modules imported by the stand-ins stay light (stdlib only, no dataclasses) so that hundreds
of them start quickly.
"""
