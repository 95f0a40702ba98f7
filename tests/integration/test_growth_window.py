"""A service that leaks slowly: pool.checkedout only grows. With
POOLWATCH_GROWTH_WINDOW the shim says so once while the program runs,
naming the stack that holds the connections."""
from pwtest import check, eq, main, program, run


def test():
    r = run([program("zdb_pool"), "grow"],
            env={"POOLWATCH_GROWTH_WINDOW": "300ms", "POOLWATCH_INTERVAL": "50ms"})
    eq(r.status, 0, "exit status")
    eq(r.stdout, "held 8\n", "stdout")
    lines = r.stderr.splitlines()
    said = [l for l in lines if "pool.checkedout has only grown" in l]
    eq(len(said), 1, "said once that pool.checkedout only grew")
    check(said and "pool libzdb" in said[0], "it names the pool", said)
    after = lines[lines.index(said[0]) + 1:] if said else []
    check(any("checkout_and_forget" in l for l in after[:8]), "followed by the stack holding them",
          "\n".join(after[:8]))


main(test)
