"""Sets of IP addresses as sorted disjoint intervals, for ipBlock ``cidr`` minus ``except``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Interval = tuple[int, int, int]
"""(IP version, first address, last address), both ends included."""


def _interval(network: Network) -> Interval:
    return network.version, int(network.network_address), int(network.broadcast_address)


@dataclass(frozen=True)
class AddressSet:
    """An immutable set of addresses (IPv4 and IPv6 kept apart)."""

    intervals: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[Network]) -> AddressSet:
        return cls(_normalise(_interval(n) for n in networks))

    @classmethod
    def block(cls, cidr: Network, excepts: Iterable[Network] = ()) -> AddressSet:
        """``cidr`` minus every ``except`` network."""
        return cls.of([cidr]) - cls.of(excepts)

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet(_normalise([*self.intervals, *other.intervals]))

    def __sub__(self, other: AddressSet) -> AddressSet:
        result: list[Interval] = []
        for version, start, end in self.intervals:
            pieces = [(start, end)]
            for o_version, o_start, o_end in other.intervals:
                if o_version != version:
                    continue
                next_pieces = []
                for p_start, p_end in pieces:
                    if o_end < p_start or o_start > p_end:
                        next_pieces.append((p_start, p_end))
                        continue
                    if p_start < o_start:
                        next_pieces.append((p_start, o_start - 1))
                    if o_end < p_end:
                        next_pieces.append((o_end + 1, p_end))
                pieces = next_pieces
            result.extend((version, s, e) for s, e in pieces)
        return AddressSet(_normalise(result))

    def covers(self, network: Network) -> bool:
        """Whether every address of ``network`` is in the set."""
        return not (AddressSet.of([network]) - self)

    def overlaps(self, network: Network) -> bool:
        """Whether some address of ``network`` is in the set."""
        return AddressSet.of([network]) - self != AddressSet.of([network])


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for version, start, end in sorted(intervals):
        if merged and merged[-1][0] == version and start <= merged[-1][2] + 1:
            last = merged[-1]
            merged[-1] = (version, last[1], max(last[2], end))
        else:
            merged.append((version, start, end))
    return tuple(merged)
