"""One `invoke bake`: the resolved request, its progress and run record, and cleaning up after it."""
