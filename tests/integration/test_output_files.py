"""The files poolwatch writes are private (0600), written whole through a
rename, and never follow a symlink planted where they go: the output
directory may be shared, like /tmp.

leak_basic --wait-stdin prints its pid and waits, so the test knows the
exact file names and plants links there before the program goes on."""
import json
import os
import stat

from pwtest import Spawned, check, eq, get, main, program, run, section, tmpdir

EXPECTED_MODE = 0o600


def names(pid):
    return {"json": "poolwatch-%d.json" % pid, "txt": "poolwatch-%d.txt" % pid,
            "dashboard": "poolwatch-%d.dashboard.json" % pid}


def start_paused():
    """Starts leak_basic under the shim, paused; returns it and its pid."""
    spawned = Spawned([program("leak_basic"), "--wait-stdin"])
    line = spawned.readline()
    if not check(line.startswith("pid "), "leak_basic printed its pid", repr(line)):
        spawned.finish()
        return None, None
    return spawned, int(line.split()[1])


def read(path):
    with open(path) as f:
        return f.read()


def test():
    os.umask(0o022)  # the usual umask; the reports must still be 0600

    section("an ordinary run")
    r = run([program("leak_basic")])
    report = r.only_report()
    pid = report.get("pid", 0)
    files = names(pid)
    eq(r.files, sorted(files.values()), "files in the output directory (no temporary files left)")
    for name in files.values():
        path = os.path.join(r.outdir, name)
        if os.path.exists(path):
            eq(stat.S_IMODE(os.lstat(path).st_mode), EXPECTED_MODE, "mode of %s" % name)
    if files["dashboard"] in r.files:
        dashboard = json.loads(r.read(files["dashboard"]))
        check(isinstance(dashboard.get("dashboard_name"), str), "dashboard has a dashboard_name")
        panels = dashboard.get("panels", [])
        check(panels and all(p.get("type") == "graph" and p.get("title") for p in panels),
              "dashboard panels are titled graphs", panels)
        metrics = [m for p in panels for m in p.get("metrics", [])]
        check("pool.checkedout" in metrics and "pool.checkedin" in metrics,
              "dashboard panels show pool.checkedout and pool.checkedin", metrics)

    section("links planted at the report paths")
    spawned, pid = start_paused()
    if spawned is None:
        return
    outdir, outside = spawned.outdir, tmpdir()
    files = {k: os.path.join(outdir, v) for k, v in names(pid).items()}
    victim = os.path.join(outside, "victim")
    with open(victim, "w") as f:
        f.write("victim\n")
    os.symlink(victim, files["json"])
    hardlinked = os.path.join(outside, "hardlinked")
    with open(hardlinked, "w") as f:
        f.write("original\n")
    os.link(hardlinked, files["txt"])
    dangling = os.path.join(outside, "created-through-symlink")
    os.symlink(dangling, files["dashboard"])

    r = spawned.finish(b"go\n")
    eq(r.status, 0, "exit status")
    eq(read(victim), "victim\n", "the symlink's target is unchanged")
    eq(read(hardlinked), "original\n", "the hard-linked file is unchanged (the report was renamed into place)")
    check(not os.path.exists(dangling), "no file was created through the dangling symlink")
    if os.path.islink(files["json"]):
        print("note: poolwatch left the planted symlink in place rather than replacing it")
    else:
        eq(get(json.loads(read(files["json"])), "summary.leaked_connections"), 4,
           "the JSON report replaced the symlink")
        eq(stat.S_IMODE(os.lstat(files["json"]).st_mode), EXPECTED_MODE, "mode of the replacing JSON report")
    if os.stat(files["txt"]).st_ino != os.stat(hardlinked).st_ino:
        check("open_report_db" in read(files["txt"]), "the text report replaced the hard link")

    section("symlinks planted at likely temporary names")
    spawned, pid = start_paused()
    if spawned is None:
        return
    outdir, outside = spawned.outdir, tmpdir()
    targets = []
    for name in names(pid).values():
        for temp in (name + ".tmp", "." + name + ".tmp", name + ".tmp.%d" % pid, "." + name, name + "~", name + ".new"):
            target = os.path.join(outside, "via-" + temp.lstrip("."))
            os.symlink(target, os.path.join(outdir, temp))
            targets.append(target)
    r = spawned.finish(b"go\n")
    eq(r.status, 0, "exit status")
    eq(r.stdout.splitlines()[-1:], ["leak_basic done"], "stdout is the program's own")
    created = [t for t in targets if os.path.exists(t)]
    eq(created, [], "files created through symlinks at temporary names")


main(test)
