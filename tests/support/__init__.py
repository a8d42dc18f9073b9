"""Support code the tests and the benchmarks share (tests/support/debian_vendor.py)."""
