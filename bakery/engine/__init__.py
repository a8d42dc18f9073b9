"""The engine: the one process seam, the docker CLI and its probes, builders, locks, disk and the root image."""
