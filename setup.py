"""Build wiring that pyproject.toml cannot express: the epoll extension, only where it builds.

The transform, the CLI and the selectors poller are pure Python; only ``runtime._epoll`` (the
cffi epoll binding, runtime/_epoll_build.py) needs Linux and a C compiler. Before declaring it,
this probes for both by compiling a file that includes <sys/epoll.h>: where that fails (macOS,
the BSDs, a container without cc, ``CC=/bin/false``) the install goes on without it and the
wheel is pure (``py3-none-any``); where it works the wheel carries the extension, built for the
stable ABI, and is tagged ``cp311-abi3-<platform>`` so every CPython from 3.11 on takes it.
``COROFY_NO_EXTENSION=1`` skips the extension on purpose.
"""

from __future__ import annotations

import os
import sys
import tempfile

from setuptools import setup

LIMITED_API = "cp311"  # the oldest CPython the abi3 extension is built for (requires-python)


def _can_build_epoll() -> bool:
    if os.environ.get("COROFY_NO_EXTENSION") or not sys.platform.startswith("linux"):
        return False
    if sys.implementation.name != "cpython":
        return False
    try:
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler

        compiler = new_compiler()
        customize_compiler(compiler)
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "probe.c")
            with open(source, "w") as f:
                f.write("#include <sys/epoll.h>\nint probe(void) { return epoll_create1(0); }\n")
            compiler.compile([source], output_dir=tmp)
    except Exception as exc:
        print(f"corofy: building without the epoll extension ({exc})", file=sys.stderr)
        return False
    return True


if _can_build_epoll():
    setup(
        cffi_modules=["runtime/_epoll_build.py:ffibuilder"],
        options={"bdist_wheel": {"py_limited_api": LIMITED_API}},
    )
else:
    setup()
