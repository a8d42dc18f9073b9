"""The shared build cache: the trust policy, where entries live, and the on-disk store."""
