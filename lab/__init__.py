"""The runners lab: two local registries and a second engine, for tests and experiments."""
