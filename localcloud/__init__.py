"""The local cloud as the project's Python code beside it sees it: `harness`, shared by the
suites that run on it (tests/localcloud, tests/lifecycle, tests/toolchain) and bench/scale.py.

The cloud's own scripts here (`bootstrap.py`, `fakeplug.py`) are not part of this package: they
run by path, with Debian's python3, inside the cloud's namespaces.
"""
