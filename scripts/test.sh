#!/bin/sh
# Builds poolwatch and runs every test, the same way CI does:
#   scripts/test.sh
# Installs missing Debian packages first, configures into build/, and ends
# with ctest's summary. The integration tests start their own throwaway
# PostgreSQL (tests/pg/pg-cluster.sh), so no server needs to be running.
set -eu
cd "$(dirname "$0")/.."

sh scripts/install-deps.sh
cmake -S . -B build
cmake --build build -j2
ctest --test-dir build --output-on-failure
