"""PHP's pgsql and pdo_pgsql extensions (Debian php-pgsql) are loaded with
RTLD_DEEPBIND and bind straight to libpq, past the preload. Their
connections are seen all the same: pg_connect, pg_pconnect and PDO. PHP
closes them itself when the script ends (persistent ones at shutdown), so
none is a leak."""
from pwtest import eq, get, main, pool, run, section

SCRIPT = r'''
$a = pg_connect("application_name=php_connect");
echo pg_fetch_result(pg_query($a, "select 40 + 2"), 0, 0), "\n";
$p = pg_pconnect("application_name=php_pconnect");
echo pg_fetch_result(pg_query($p, "select 1"), 0, 0), "\n";
$pdo = new PDO("pgsql:application_name=php_pdo");
echo $pdo->query("select 2")->fetchColumn(), "\n";
'''


def test():
    section("without the shim")
    plain = run(["php", "-r", SCRIPT], preload=False, outdir=False)
    eq(plain.status, 0, "exit status")
    eq(plain.stdout, "42\n1\n2\n", "stdout")
    section("under the shim")
    r = run(["php", "-r", SCRIPT])
    eq(r.status, 0, "exit status")
    eq(r.stdout, plain.stdout, "stdout is unchanged")
    report = r.only_report()
    eq(get(pool(report), "counters.connects"), 3, "counters.connects: pg_connect, pg_pconnect, PDO")
    eq(get(pool(report), "counters.closes"), 3, "counters.closes")
    eq(get(report, "summary.leaked_connections"), 0, "no leaks")


main(test)
