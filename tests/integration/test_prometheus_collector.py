"""Prometheus files a real collector reads: two processes export into one
textfile directory, as a service and its workers would, and Debian's
node_exporter, running as its own user (prometheus) on a loopback port,
scrapes the directory. The scrape has no errors, and both processes'
series are there, told apart by their pid label.

Before, the files were 0600 (node_exporter: permission denied) and two
processes with the same pool produced the same series twice ("collected
before with the same name and label values")."""
import os
import pwd
import socket
import subprocess
import time
import urllib.request

from pwtest import Spawned, check, eq, main, program, section, tmpdir

EXPORTER = "/usr/bin/prometheus-node-exporter"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.status, r.read().decode("utf-8", "replace")


def test():
    check(os.path.exists(EXPORTER), "prometheus-node-exporter is installed (scripts/install-deps.sh)")
    check(os.geteuid() == 0, "the test runs as root, so node_exporter can run as its own user")
    user = pwd.getpwnam("prometheus")

    d = tmpdir()
    os.chmod(d, 0o755)  # node_exporter must be able to list it
    # A strict umask, as services often have, must not hide the files.
    os.umask(0o077)
    workers = []
    for name in ("a.prom", "b.prom"):
        workers.append(Spawned([program("named_pool"), "orders", "hold"],
                               env={"POOLWATCH_PROMETHEUS": os.path.join(d, name),
                                    "POOLWATCH_INTERVAL": "50ms"}))
    for w in workers:
        eq(w.readline(), "held\n", "worker %d holds its checkout" % w.proc.pid)
    for _ in range(200):
        if all(os.path.exists(os.path.join(d, n)) for n in ("a.prom", "b.prom")):
            break
        time.sleep(0.05)

    section("node_exporter, as user prometheus, scraping the directory")
    port = free_port()
    exporter = subprocess.Popen(
        ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups",
         EXPORTER, "--collector.disable-defaults", "--collector.textfile",
         "--collector.textfile.directory=" + d, "--web.listen-address=127.0.0.1:%d" % port],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body, status = "", None
        for _ in range(100):
            try:
                status, body = scrape(port)
                break
            except OSError:
                time.sleep(0.1)
        eq(status, 200, "the scrape succeeds")
        samples = [l for l in body.splitlines() if l and not l.startswith("#")]
        eq([l for l in samples if l.startswith("node_textfile_scrape_error")],
           ["node_textfile_scrape_error 0"], "node_textfile_scrape_error")
        for w in workers:
            pid = w.proc.pid
            series = [l for l in samples if l.startswith('poolwatch_checkouts_total{pid="%d",pool="orders"}' % pid)]
            eq(len(series), 1, "process %d's checkouts counter is scraped" % pid)
            check(series and series[0].endswith(" 1"), "and reads 1", series)
    finally:
        exporter.terminate()
        log = exporter.communicate(timeout=10)[0].decode("utf-8", "replace")
    check("collected before" not in log and "level=error" not in log,
          "node_exporter logged no errors", log[-2000:])

    for w in workers:
        r = w.finish(b"\n")
        eq(r.status, 0, "worker exit status")

    section("four processes rewriting one file every 10 ms")
    # Forked workers inherit one POOLWATCH_PROMETHEUS. They shared one
    # temporary name for it, so one truncated another's file mid-write:
    # 2,273 of 92,166 reads saw it empty or cut short.
    shared = os.path.join(d, "shared.prom")
    writers = [Spawned([program("named_pool"), "orders", "hold"],
                       env={"POOLWATCH_PROMETHEUS": shared, "POOLWATCH_INTERVAL": "10ms"})
               for _ in range(4)]
    for w in writers:
        eq(w.readline(), "held\n", "writer %d holds its checkout" % w.proc.pid)
    reads, torn = 0, []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline or reads < 2000:
        try:
            with open(shared, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        reads += 1
        if not (data.startswith(b"# HELP poolwatch_") and data.endswith(b"\n")
                and b"poolwatch_connect_seconds_count{" in data):
            torn.append(data[-80:])
        if reads >= 20000:
            break
    check(reads >= 2000, "the file was read %d times" % reads)
    eq(torn[:3], [], "reads that saw an empty or truncated file (of %d)" % reads)
    for w in writers:
        eq(w.finish(b"\n").status, 0, "writer exit status")


main(test)
