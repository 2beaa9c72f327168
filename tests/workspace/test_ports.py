"""Port blocks: consecutive, free on 127.0.0.1, never handed out twice while allocated."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overmind_jupyter.workspace.ports import PortAllocator
from overmind_jupyter.workspace.worktrees import PortsExhausted

pytestmark = pytest.mark.timeout(60)


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_blocks_are_consecutive_free_and_disjoint() -> None:
    ports = PortAllocator(21000, 21200)
    a, b = ports.allocate(3), ports.allocate(3)
    for block in (a, b):
        assert list(block) == list(range(block[0], block[0] + 3))
        assert all(21000 <= p < 21200 and bindable(p) for p in block)
    assert not set(a) & set(b)
    assert ports.allocated == set(a) | set(b)
    assert ports.allocate(0) == ()


def test_a_port_someone_listens_on_is_skipped() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        block = PortAllocator(busy, busy + 10, start=busy).allocate(2)
    assert busy not in block and block[0] > busy


def test_released_ports_come_back_only_when_released() -> None:
    ports = PortAllocator(21300, 21304, start=21300)
    first, second = ports.allocate(2), ports.allocate(2)
    assert (first, second) == ((21300, 21301), (21302, 21303))
    with pytest.raises(PortsExhausted, match="no block of 1 free"):
        ports.allocate(1)
    ports.release(first)
    assert ports.allocate(2) == first
    with pytest.raises(PortsExhausted):
        ports.allocate(3)  # blocks never wrap past the end of the range


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        PortAllocator(80, 90)
    with pytest.raises(ValueError):
        PortAllocator(21000, 21010).allocate(-1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 4)), max_size=30))
def test_no_port_is_handed_out_twice_while_allocated(ops: list[tuple[bool, int]]) -> None:
    ports = PortAllocator(21400, 21420)
    held: list[tuple[int, ...]] = []
    for allocate, n in ops:
        if allocate:
            try:
                block = ports.allocate(n)
            except PortsExhausted:
                continue
            assert not set(block) & {p for b in held for p in b}
            held.append(block)
        elif held:
            ports.release(held.pop(n % len(held)))
        assert ports.allocated == {p for b in held for p in b}
