"""Client and listening addresses: which is an IP address, and which is this machine (loopback)."""

from __future__ import annotations

import ipaddress


def ip_address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address (an IPv4-mapped IPv6 address as the IPv4 one), ``None`` when it is not one."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1, and 127.x as IPv4-mapped IPv6)."""
    if host == "localhost":
        return True
    address = ip_address(host)
    return address is not None and address.is_loopback
