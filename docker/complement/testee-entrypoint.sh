#!/bin/sh
# Complement testee entrypoint: start the server with the Complement config.
# SERVER_NAME comes from Complement (its homeserver contract).
set -eu
: "${SERVER_NAME:?Complement sets SERVER_NAME}"
exec /usr/local/bin/entrypoint --config /complement/server.toml "$@"
