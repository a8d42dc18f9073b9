"""The configuration layer: the axes and matrices (docker/matrix.toml) and the layered settings."""
