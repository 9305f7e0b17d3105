"""cffi build script for ``runtime._epoll``: epoll bound in API mode, out of line.

API mode lets the C compiler lay out ``struct epoll_event``: glibc declares it
``__attribute__((packed))`` on x86-64 (12 bytes, ``data`` at offset 4) and naturally
aligned elsewhere, e.g. aarch64 (16 bytes, ``data`` at offset 8). Declaring the struct
with a trailing ``...;`` makes cffi take sizes and offsets from the compiler instead of
trusting this file, so the layout is right on every architecture by construction
(tests/runtime/test_epoll_binding.py pins it).

Built by ``pip install`` through ``cffi_modules`` in setup.py; run this file directly
(``python3 runtime/_epoll_build.py``) to build in place in a checkout.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

from cffi import FFI

CDEF = """
typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
} epoll_data_t;

struct epoll_event {
    uint32_t events;
    epoll_data_t data;
    ...;
};

#define EPOLLIN ...
#define EPOLLOUT ...
#define EPOLLERR ...
#define EPOLLHUP ...
#define EPOLLRDHUP ...
#define EPOLLPRI ...
#define EPOLLET ...
#define EPOLLONESHOT ...
#define EPOLL_CLOEXEC ...
#define EPOLL_CTL_ADD ...
#define EPOLL_CTL_MOD ...
#define EPOLL_CTL_DEL ...

int epoll_create1(int flags);
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("runtime._epoll", "#include <sys/epoll.h>")

if __name__ == "__main__":
    # Build into the checkout: the .so lands next to this file as runtime/_epoll*.so.
    here = pathlib.Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        built = pathlib.Path(ffibuilder.compile(tmpdir=tmp))
        print(shutil.copy(built, here / built.name))
