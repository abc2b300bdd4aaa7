"""`ip`: print this agent's IP address."""

from typing import Any

from installer import addresses
from installer.host import Host
from installer.result import OK, Outcome


def run(host: Host, options: Any) -> Outcome:
    ip = addresses.agent_ip(host, options.master)
    print(ip)
    return Outcome(OK, ip, details={"ip": ip})
