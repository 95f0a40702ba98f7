#!/usr/bin/env python3
"""Tests of the poolwatch command that need no PostgreSQL.

    test_tool.py --poolwatch BIN --source-dir DIR [--static-program P]
                 [--preload-stub LIB] CASE

Each CASE is one function below named test_CASE, registered in ctest as
tool_CASE. Report fixtures in fixtures/ follow the JSON report schema of
README; `run` is tested with fake_program.sh, which writes the files the
library would, and an empty preload library, so these tests check the
command, not the library.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tool_dashboard  # noqa: E402
import tool_report  # noqa: E402
import tool_run  # noqa: E402
from tooltest import ARGS, Failure  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poolwatch", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--static-program")
    parser.add_argument("--preload-stub")
    parser.add_argument("--sarif-cache", help="where to install the SARIF Multitool")
    parser.add_argument("case")
    parser.parse_args(namespace=ARGS)
    test = None
    for module in (tool_dashboard, tool_report, tool_run):
        test = test or getattr(module, "test_" + ARGS.case, None)
    if not test:
        print("no test case %s" % ARGS.case, file=sys.stderr)
        return 2
    try:
        test()
    except Failure as failure:
        print("FAIL tool_%s: %s" % (ARGS.case, failure), file=sys.stderr)
        return 1
    print("PASS tool_%s" % ARGS.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())

