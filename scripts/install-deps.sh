#!/bin/sh
# Installs the Debian packages poolwatch needs to build and test, if any are
# missing. Runs `apt-get update` only when something has to be installed.
set -eu

packages="libpq-dev libunwind-dev uthash-dev libcmocka-dev libzdb-dev libdw-dev libjansson-dev
  libncurses-dev python3 python3-psycopg2 python3-psycopg python3-psycopg-pool python3-sqlalchemy
  php-cli php-pgsql patchelf
  libpython3.11-dev g++ libpqxx-dev postgresql postgresql-client cmake gcc pkg-config make
  ruby ruby-pg ruby3.1-dev perl libdbi-perl libdbd-pg-perl libperl-dev php8.2-dev
  libxml2-utils prometheus prometheus-node-exporter mandoc clang-14 libclang-rt-14-dev"

# npm installs the SARIF validator the CI-format tests use; machines with
# Node.js from elsewhere already have it.
command -v npm >/dev/null 2>&1 || packages="$packages npm"

missing=
for p in $packages; do
  # dpkg -s succeeds for removed-but-configured packages too; ask for the state.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing="$missing $p"
  fi
done
[ -n "$missing" ] || exit 0

echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
  sudo=
elif command -v sudo >/dev/null 2>&1; then
  sudo=sudo
else
  echo "$0: need root (or sudo) to install:$missing" >&2
  exit 1
fi
$sudo apt-get update -q
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
