"""A program that ends by _exit() or by a signal runs no exit handlers, so
no report is written: the program's status and output are its own, and no
partial or temporary file is left in the output directory."""
from pwtest import eq, main, program, run


def test():
    for mode, status in (("_exit", 7), ("signal", -15)):
        r = run([program("abrupt_end"), mode], env={"POOLWATCH_LEAK_THRESHOLD": "1s"})
        eq(r.status, status, "%s: exit status unchanged" % mode)
        eq(r.stdout, "connected 1\n", "%s: stdout unchanged" % mode)
        eq(r.stderr, "", "%s: nothing on stderr" % mode)
        eq(r.files, [], "%s: no files, partial or temporary" % mode)


main(test)
