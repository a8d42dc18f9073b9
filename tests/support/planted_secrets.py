"""Secret values planted in the environment, and the strings no output may show
(tests/unit/test_secrets.py in process, tests/cli/test_secrets_cli.py on the command line)."""

from __future__ import annotations

AUTH_CONFIG = '{"auths":{"r":{"auth":"cGxhbnRlZA=="}}}'
PLANTED = {
    "GH_TOKEN": "planted-token-123",
    "MY_SECRET": "planted-secret-456",
    "DB_PASSWORD": "planted-pw-789",
    "SSH_KEY": "planted-key-000",
    "DOCKER_AUTH_CONFIG": AUTH_CONFIG,
}
# Everything that must not appear: each value, any part of one, and the
# registry credential inside the auth config on its own.
FORBIDDEN = (*PLANTED.values(), "cGxhbnRlZA==", "planted-")
