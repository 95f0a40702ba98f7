"""poolwatch wraps dlopen and dlsym, yet the loader must still see who
called: a library's bare-name dlopen searches that library's RUNPATH, and
dlsym(RTLD_NEXT) searches after the caller. The program prints the same
and exits 0 with and without the shim."""
from pwtest import eq, main, program, run


def test():
    plain = run([program("loader_semantics")], preload=False, outdir=False)
    eq(plain.status, 0, "exit status without the shim")
    r = run([program("loader_semantics")])
    eq(r.status, 0, "exit status under the shim")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    eq(r.files, [], "a program that never used libpq writes nothing")


main(test)
