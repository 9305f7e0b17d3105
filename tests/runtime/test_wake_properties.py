"""Property: however wakes interleave (own thread, other threads, during polls), every task
finishes with its value, and no task is polled more often than it was woken plus once."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_helpers import YieldNow, coro

from runtime import PENDING, Future, Ready, join_all, run, spawn, timeout


class Counted(Future):
    """Pending until its gate count reaches ``need``; counts polls and wakes received."""

    def __init__(self, need: int) -> None:
        self.need = need
        self.opened = 0
        self.polls = 0
        self.waker = None
        self.lock = threading.Lock()

    def poll(self, waker):
        self.polls += 1
        with self.lock:
            if self.opened >= self.need:
                return Ready(self.polls)
            self.waker = waker
            return PENDING

    def open(self) -> None:
        with self.lock:
            self.opened += 1
            waker = self.waker
        if waker is not None:
            waker.wake()


@settings(max_examples=15, deadline=None)
@given(
    needs=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6),
    from_threads=st.lists(st.booleans(), min_size=24, max_size=24),
    extra_wakes=st.integers(min_value=0, max_value=20),
)
def test_every_task_finishes_and_polls_never_outnumber_wakes(needs, from_threads, extra_wakes):
    gates = [Counted(need) for need in needs]
    opens = [i for i, need in enumerate(needs) for _ in range(need)]
    threads = []

    @coro
    def opener():
        for k, i in enumerate(opens):
            if from_threads[k % len(from_threads)]:
                thread = threading.Thread(target=gates[i].open)
                thread.start()
                threads.append(thread)
            else:
                gates[i].open()
            for _ in range(extra_wakes % 3):
                if gates[i].waker is not None:
                    gates[i].waker.wake()  # duplicate wakes coalesce
            yield YieldNow()

    @coro
    def main():
        handles = [spawn(gate) for gate in gates]
        spawn(opener())
        return (yield timeout(join_all(handles), 10))

    polls = run(main())
    for thread in threads:
        thread.join(5)
    for gate, poll_count in zip(gates, polls, strict=True):
        # Polled first, then at most once per open (each open wakes once; duplicates of a
        # wake that has not been served yet coalesce).
        assert 1 <= poll_count <= 1 + gate.need + extra_wakes % 3 * gate.need
