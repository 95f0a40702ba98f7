"""Names and arguments holding any bytes: an annotated pool named by a URL
with a password, or with a tab, a newline that imitates a report line, an
escape code, a Latin-1 byte, a backslash and a quote; a program whose argv
carries passwords as "--password VALUE", "-W VALUE", "pwd=VALUE" and JSON.
Every file poolwatch writes stays valid (strict UTF-8 JSON, a Prometheus
file that promtool accepts), no text line is forged, no escape code gets
through, and no secret appears anywhere."""
import json
import os
import subprocess

from pwtest import Spawned, check, eq, main, program, section, tmpdir

SECRET = "s3cretZQ"
LATIN1 = os.fsdecode(b"r\xe9sum\xe9")

NAMES = [
    ("a URL with a password", "postgresql://app:%s@db.example/shop" % SECRET),
    ("a tab", "tab\there"),
    ("a forged line", "x\npoolwatch: no leaks (pid 1: 0 connects)"),
    ("an escape code", "red\x1b[31m\x1b]0;title\x07"),
    ("a Latin-1 byte", LATIN1),
    ("a backslash and quotes", 'back\\slash "quoted" \\n'),
]

SECRET_ARGS = ["--password", SECRET, "-W", SECRET, "pwd=%s" % SECRET,
               '{"password": "%s"}' % SECRET, os.fsdecode(b"r\xe9sum\xe9.csv")]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def wait_for_file(path, tries=200):
    import time
    for _ in range(tries):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.05)
    return False


def test():
    for label, name in NAMES:
        section("pool named with %s" % label)
        d = tmpdir()
        prom, events = os.path.join(d, "pool.prom"), os.path.join(d, "events.log")
        p = Spawned([program("named_pool"), name, "hold"] + SECRET_ARGS,
                    env={"POOLWATCH_PROMETHEUS": prom, "POOLWATCH_INTERVAL": "50ms",
                         "POOLWATCH_EVENT_LOG": events})
        eq(p.readline(), "held\n", "the program holds its checkout")
        check(wait_for_file(prom), "the Prometheus file appears")
        checked = subprocess.run(["promtool", "check", "metrics"], input=read_bytes(prom),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = checked.stdout.decode("utf-8", "replace")
        eq((checked.returncode, out), (0, ""), "promtool check metrics accepts the file")
        eq(oct(os.stat(prom).st_mode & 0o777), oct(0o644), "the Prometheus file is 0644")
        prom_text = read_bytes(prom)
        r = p.finish(b"\n")
        check(not os.path.exists(prom), "the Prometheus file is removed at exit")
        eq(r.status, 0, "exit status is the program's own")
        eq(r.stdout, "named_pool done\n", "stdout is the program's own")

        outputs = {"stderr": r.stderr.encode("utf-8", "surrogateescape"),
                   "Prometheus file": prom_text, "event log": read_bytes(events)}
        for f in r.files:
            outputs[f] = read_bytes(os.path.join(r.outdir, f))
        for what, data in outputs.items():
            check(SECRET.encode() not in data, "%s holds no password" % what)
            check(b"\x1b" not in data and b"\x07" not in data, "%s holds no escape code" % what)
        report = r.only_report()
        for f in r.files:
            if f.endswith(".json"):
                try:
                    json.loads(outputs[f].decode("utf-8"))
                    check(True, "%s is strict UTF-8 JSON" % f)
                except ValueError as e:
                    check(False, "%s is strict UTF-8 JSON" % f, e)
        argv = report.get("argv", [])
        eq(argv[-1:], ["r\ufffdsum\ufffd.csv"], "a Latin-1 argument becomes U+FFFD in JSON")
        check(argv.count("***") >= 2, "the values after --password and -W show as ***", argv)
        text = [l for f in r.files if f.endswith(".txt")
                for l in outputs[f].decode("utf-8", "replace").splitlines()]
        forged = [l for l in text + r.stderr.splitlines() + outputs["event log"].decode("utf-8", "replace").splitlines()
                  if l.startswith("poolwatch: no leaks (pid 1")]
        eq(forged, [], "no line forged by the pool's name")


main(test)
