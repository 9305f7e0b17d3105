"""The book's ch09: variables that live across waits — a counter, a buffer and a writer.

In Rust, ``writer = &mut buffer`` held across a ``.wait`` makes the coroutine
self-referential, and the book needs ``Pin`` to keep it sound. A corofy state machine keeps
``counter``, ``buffer`` and ``writer`` as slots on the machine object (see ``corofy show``),
and a Python reference stays valid wherever the object is moved, so nothing more is needed.
Run: ``corofy run samples/variables_across_waits.py [--server HOST:PORT]``.
"""

from corofy import coroutine, wait
from runtime.http import Http

import support


@coroutine
def async_main(base: str) -> None:
    counter = 0
    buffer = ["\nBUFFER:\n----\n"]
    writer = buffer.append  # holds a reference to buffer across both waits
    print("Program starting")
    txt = wait(Http.get(f"{base}/600/HelloAsyncAwait")).text
    writer(f"{txt}\n")
    counter += 1
    txt = wait(Http.get(f"{base}/400/HelloAsyncAwait")).text
    writer(f"{txt}\n")
    counter += 1
    print(f"Received {counter} responses.")
    print("".join(buffer), end="")


if __name__ == "__main__":
    args = support.parser(__doc__).parse_args()
    support.run_sample(args.server, async_main)
