#!/bin/sh
# Installs Microsoft's SARIF Multitool (npm package @microsoft/sarif-multitool)
# into DIR and prints the path of its program. The tests validate poolwatch's
# SARIF output with its `validate` verb. Does nothing but print the path when
# this version is already there, so tests can call it to find the tool.
#
#   scripts/install-sarif-multitool.sh DIR
set -eu

version=5.7.0
dir=${1:?usage: $0 DIR}
# The package picks its platform's build from an optional dependency; poolwatch
# runs on Linux only.
tool="$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
stamp="$dir/installed-$version"

if [ ! -e "$stamp" ] || [ ! -e "$tool" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "$0: npm (Node.js) is needed to install @microsoft/sarif-multitool" >&2
    exit 1
  fi
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "@microsoft/sarif-multitool@$version" >&2
  # The package's postinstall script only sets this bit, and npm may be set
  # to skip install scripts.
  chmod u+x "$tool"
  touch "$stamp"
fi
echo "$tool"
