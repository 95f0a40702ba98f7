"""Live state in a per-user private directory. The watched processes run as
user nobody (65534) with POOLWATCH_LIVE=1; root plays the other local user.

- Root plants /dev/shm/poolwatch-65534 first, with a fake live file in it:
  the process refuses the directory (one warning) and `poolwatch top`
  refuses it too; the fake data is never shown.
- Root plants a symlink there instead: refused the same way.
- Without plants, the directory is created 0700 and owned by nobody, top
  shows the process, and the file goes at exit.
- A process killed by SIGKILL leaves its file; the next `poolwatch top` of
  that user's processes removes it."""
import json
import os
import shutil
import signal
import stat
import time

from pwtest import Spawned, check, eq, main, program, run, section, tmpdir

POOLWATCH = os.environ.get("PWTEST_POOLWATCH", "")
NOBODY = 65534
LIVE_DIR = "/dev/shm/poolwatch-%d" % NOBODY
AS_NOBODY = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
ENV = {"POOLWATCH_LIVE": "1", "POOLWATCH_INTERVAL": "50ms"}


def start():
    p = Spawned(AS_NOBODY + [program("attacks"), "hold_annotated"], env=ENV)
    eq(p.readline(), "held\n", "the program holds its checkout")
    return p


def top(pid):
    return run([POOLWATCH, "top", "--once", pid], preload=False, outdir=False, timeout=30)


def wait_for(predicate, seconds=5.0):
    deadline = time.time() + seconds
    while time.time() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def remove_dir():
    if os.path.islink(LIVE_DIR) or os.path.isfile(LIVE_DIR):
        os.unlink(LIVE_DIR)
    elif os.path.isdir(LIVE_DIR):
        shutil.rmtree(LIVE_DIR)


def planted(kind):
    section("another user planted %s at %s" % (kind, LIVE_DIR))
    remove_dir()
    if kind == "a directory with a fake live file":
        os.mkdir(LIVE_DIR, 0o700)
    else:
        target = tmpdir()
        os.symlink(target, LIVE_DIR)
    p = start()
    fake = os.path.join(LIVE_DIR, "poolwatch-%d.live.json" % p.proc.pid)
    with open(fake, "w") as f:
        json.dump({"tool": "poolwatch", "pid": p.proc.pid, "interval": 1, "pools": [
            {"name": "FAKE", "kind": "api"}]}, f)
    time.sleep(0.3)  # several ticks of the monitor
    r = top(p.proc.pid)
    eq(r.status, 1, "top refuses")
    check("FAKE" not in r.stdout, "the fake data is not shown", r.stdout[:200])
    check(LIVE_DIR in r.stderr, "top says why, naming the directory", r.stderr)
    r = p.finish(b"\n")
    eq(r.status, 0, "the program's exit status")
    eq(len([w for w in r.warnings() if "POOLWATCH_LIVE" in w or "live" in w]), 1,
       "one warning from the process")
    remove_dir()


def private():
    section("the private directory")
    remove_dir()
    p = start()
    pid = p.proc.pid
    live = os.path.join(LIVE_DIR, "poolwatch-%d.live.json" % pid)
    check(wait_for(lambda: os.path.exists(live)), "the live file appears")
    st = os.lstat(LIVE_DIR)
    eq((stat.S_ISDIR(st.st_mode), oct(st.st_mode & 0o777), st.st_uid), (True, "0o700", NOBODY),
       "the directory is nobody's, mode 0700")
    r = top(pid)
    eq(r.status, 0, "top shows the process")
    check("held (api)" in r.stdout, "with its pool", r.stdout[:300])

    section("a process killed by SIGKILL")
    q = start()
    stale = os.path.join(LIVE_DIR, "poolwatch-%d.live.json" % q.proc.pid)
    check(wait_for(lambda: os.path.exists(stale)), "the second process's live file appears")
    q.proc.send_signal(signal.SIGKILL)
    q.finish()
    check(os.path.exists(stale), "the killed process's file is left behind")
    r = top(pid)
    eq(r.status, 0, "top of the other process")
    check(not os.path.exists(stale), "top removed the dead process's file")
    r = p.finish(b"\n")
    eq(r.status, 0, "the program's exit status")
    check(not os.path.exists(live), "the live file is removed at exit")
    remove_dir()


def test():
    check(os.access(POOLWATCH, os.X_OK), "PWTEST_POOLWATCH is the poolwatch command", repr(POOLWATCH))
    planted("a directory with a fake live file")
    planted("a symlink")
    private()


main(test)
