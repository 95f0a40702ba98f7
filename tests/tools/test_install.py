#!/usr/bin/env python3
"""An installed tree works on its own: `cmake --install` into a temporary
prefix puts the preload library in its private directory under its soname,
and `poolwatch run` from that tree finds it there and preloads it.

    test_install.py --cmake CMAKE --build-dir DIR --libdir LIBDIR
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cmake", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--libdir", required=True, help="CMAKE_INSTALL_LIBDIR, relative")
    args = parser.parse_args()
    failures = []

    def check(condition, message, detail=""):
        print(("ok   " if condition else "FAIL ") + message)
        if not condition:
            failures.append(message)
            if detail:
                print("     " + str(detail).replace("\n", "\n     "))

    prefix = tempfile.mkdtemp(prefix="poolwatch-install-")
    try:
        installed = subprocess.run([args.cmake, "--install", args.build_dir, "--prefix", prefix],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   universal_newlines=True)
        check(installed.returncode == 0, "cmake --install succeeds", installed.stdout)
        libdir = os.path.join(prefix, args.libdir)
        private = os.path.join(libdir, "poolwatch")
        library = os.path.join(private, "libpoolwatch.so.0")
        check(os.path.exists(library), "the library is installed as %s" % library,
              "\n".join(sorted(os.listdir(private))) if os.path.isdir(private) else "no " + private)
        public = [n for n in os.listdir(libdir) if n.startswith("libpoolwatch")] \
            if os.path.isdir(libdir) else []
        check(public == [], "nothing of it in the public library directory", public)

        # Moved elsewhere, the tree still finds its own library.
        moved = prefix + "-moved"
        os.rename(prefix, moved)
        prefix = moved
        library = os.path.join(prefix, args.libdir, "poolwatch", "libpoolwatch.so.0")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("POOLWATCH_") and k != "LD_PRELOAD"}
        env["POOLWATCH_OUTPUT_DIR"] = os.path.join(prefix, "reports")
        # psql with a server that is not there: a libpq program, whose failed
        # connect is enough for a report, and no PostgreSQL is needed.
        show = ('printf "%s\\n" "$LD_PRELOAD"; grep -c libpoolwatch /proc/$$/maps; '
                'exec psql -h /nonexistent -c "select 1"')
        run = subprocess.run([os.path.join(prefix, "bin", "poolwatch"), "run", "--",
                              "sh", "-c", show],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
        check(run.returncode == 2, "poolwatch run exits with psql's status, 2",
              "%s\n%s%s" % (run.returncode, run.stdout, run.stderr))
        reports = os.listdir(env["POOLWATCH_OUTPUT_DIR"]) \
            if os.path.isdir(env["POOLWATCH_OUTPUT_DIR"]) else []
        check(any(n.endswith(".json") and "dashboard" not in n for n in reports),
              "the library wrote its report", reports)
        lines = run.stdout.splitlines()
        check(lines[:1] == [os.path.realpath(library)],
              "it preloads the library of its own tree", run.stdout)
        check(len(lines) > 1 and lines[1] != "0", "the program has the library mapped", run.stdout)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    print("%d checks failed" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
