"""Programs that never use libpq (a shell, a compiler, make) inherit
LD_PRELOAD from `poolwatch run` all the time. They must run exactly as
without the shim: same stdout and status, nothing on stderr, no files, and
libpq never mapped into them."""
import shutil

from pwtest import check, eq, main, program, run, section


def same_with_and_without(argv, status):
    plain = run(argv, preload=False, outdir=False)
    r = run(argv, env={"POOLWATCH_EXITCODE": "23"})
    eq(plain.status, status, "exit status without the shim")
    eq(r.status, status, "exit status under the shim (POOLWATCH_EXITCODE=23 does not apply)")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    eq(r.stderr, "", "stderr")
    eq(r.files, [], "files written")
    return r


def test():
    section("no_libpq")
    r = same_with_and_without([program("no_libpq"), "a", "b"], 3)
    check("libpq mapped: no\n" in r.stdout, "libpq is not mapped under the shim", r.stdout)

    section("/bin/sh")
    same_with_and_without(["/bin/sh", "-c", "echo hello; exit 3"], 3)

    cc = shutil.which("cc")
    if cc:
        section("cc --version")
        same_with_and_without([cc, "--version"], 0)


main(test)
