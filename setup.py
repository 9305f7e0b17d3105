"""Build wiring that pyproject.toml cannot express: compile the cffi epoll binding."""

from setuptools import setup

setup(cffi_modules=["runtime/_epoll_build.py:ffibuilder"])
