"""How much of the public internet a set of CIDR blocks admits (pure; config and policies share it).

``0.0.0.0/0`` is not the only way to open something to everyone: ``0.0.0.0/1`` + ``128.0.0.0/1``
admit the same addresses. A set of blocks is judged by the union of its *public* addresses
(private, shared, loopback, link-local, multicast and reserved ranges removed): a set is "open to
the internet" when that union is at least as large as one IPv4 ``/8`` (16,777,216 addresses) or
one IPv6 ``/16``. No single organisation's egress ranges come near that; the public ranges of
whole cloud regions are far smaller.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

#: Largest public range (as a prefix length) a set of blocks may add up to, per IP version.
OPEN_PREFIX = {4: 8, 6: 16}

#: Ranges that are not reachable from the public internet (RFC 6890 special-purpose blocks).
NOT_PUBLIC = {
    4: [ipaddress.ip_network(n) for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4")],
    6: [ipaddress.ip_network(n) for n in ("::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32")],
}


def parse(cidrs: Iterable[str]) -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], list[str]]:
    """(the networks, the entries that are not CIDR blocks)."""
    networks, bad = [], []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            bad.append(str(cidr))
    return networks, bad


def public_addresses(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network], version: int) -> int:
    """How many public addresses of one IP version the union of ``networks`` holds."""
    same = [n for n in networks if n.version == version]
    total = 0
    for network in ipaddress.collapse_addresses(same):  # type: ignore[type-var]
        count = network.num_addresses
        for reserved in NOT_PUBLIC[version]:  # CIDR blocks either nest or are disjoint
            if reserved.subnet_of(network):  # type: ignore[arg-type]
                count -= reserved.num_addresses
            elif network.subnet_of(reserved):  # type: ignore[arg-type]
                count = 0
                break
        total += count
    return total


def open_to_internet(cidrs: Iterable[str]) -> list[str]:
    """Why ``cidrs`` together admit a large part of the internet (one phrase per IP version; empty if not)."""
    networks, _ = parse(cidrs)
    found = []
    for version, prefix in sorted(OPEN_PREFIX.items()):
        bits = 32 if version == 4 else 128
        count = public_addresses(networks, version)
        if count >= 2 ** (bits - prefix):
            blocks = " + ".join(str(n) for n in networks if n.version == version)
            found.append(f"{blocks} admit as many public IPv{version} addresses as a /{bits - count.bit_length() + 1} "
                         f"(allowed: less than a /{prefix} of public addresses in all)")
    return found
