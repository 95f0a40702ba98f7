#!/usr/bin/env python3
"""Print poolwatch's dashboard configuration.

Kept for scripts that call it by this name. The configuration itself is
made by `poolwatch dashboard` (its seed by shim/common/dashboard.c, the
code the library uses for poolwatch-PID.dashboard.json), so this script
only finds that command and runs it; any arguments are passed on, for example
`--format grafana` or `--report DIR`.

The command is taken from $POOLWATCH_BIN, else from a build directory of
this checkout (build*/tools/poolwatch), else from PATH.
"""

import glob
import os
import shutil
import subprocess
import sys


def find_poolwatch():
    explicit = os.environ.get("POOLWATCH_BIN")
    if explicit:
        return explicit
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    built = sorted(
        glob.glob(os.path.join(checkout, "build*", "tools", "poolwatch")),
        key=os.path.getmtime,
        reverse=True,
    )
    for path in built:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("poolwatch")


def main():
    poolwatch = find_poolwatch()
    if not poolwatch:
        sys.stderr.write(
            "generate_dashboard_config.py: cannot find the poolwatch command; "
            "build it (cmake --build build) or set POOLWATCH_BIN\n"
        )
        return 2
    try:
        return subprocess.call([poolwatch, "dashboard"] + sys.argv[1:])
    except OSError as error:
        sys.stderr.write("generate_dashboard_config.py: %s: %s\n" % (poolwatch, error))
        return 2


if __name__ == "__main__":
    sys.exit(main())
