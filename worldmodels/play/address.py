"""Where ``--web`` listens: ``PORT`` or ``HOST:PORT``; parsed before anything heavy loads."""

import ipaddress
from dataclasses import dataclass

from worldmodels.core.errors import UserError


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def local(self) -> bool:
        return self.host == "localhost" or (_is_ip(self.host) and ipaddress.ip_address(self.host).is_loopback)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_address(text: str) -> Address:
    """``PORT`` or ``HOST:PORT`` (``0`` picks a free port) -> Address; a UserError names what is wrong."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--web {text}: expected PORT or HOST:PORT, e.g. 8000 or 0.0.0.0:8000")
    return Address(host, int(port))
