"""Passwords never reach any output: not stderr, the JSON, the text report,
the dashboard or the event log, whether the program passed them in a
conninfo string, a keyword array, a URI or PGPASSWORD. Where a password was
given, the report shows *** instead."""
import os

from pwtest import check, eq, get, leak_groups, main, program, run, section, tmpdir

SECRET = "s3cret"


def check_no_secret(r, extra_files=()):
    for label, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        check(SECRET not in text, "%s has no password" % label)
    check(r.files, "poolwatch wrote files", r.files)
    for name in r.files:
        check(SECRET not in r.read(name), "%s has no password" % name)
    for path in extra_files:
        with open(path, errors="replace") as f:
            check(SECRET not in f.read(), "%s has no password" % os.path.basename(path))


def test():
    section("leak_basic (conninfo string, keyword array, PQsetdbLogin), with an event log")
    event_log = os.path.join(tmpdir(), "events.log")
    r = run([program("leak_basic")], env={"POOLWATCH_EVENT_LOG": event_log})
    eq(r.status, 0, "exit status")
    if os.path.exists(event_log):
        check_no_secret(r, [event_log])
    else:
        print("note: no event log was written; checking the other outputs only")
        check_no_secret(r)
    groups = leak_groups(r.only_report(), "open_session")
    conninfo = get(groups, [0, "items", 0, "conninfo"], "")
    check("password=***" in conninfo, "open_session's conninfo shows password=***", conninfo)

    section("PGPASSWORD in the environment")
    r = run([program("leak_basic")], env={"PGPASSWORD": SECRET})
    check_no_secret(r)

    section("every form a password can take")
    host, port = os.environ["PGHOST"], os.environ["PGPORT"]
    query = "host=%s&port=%s" % (host, port)
    forms = [
        "password=%s application_name=plain" % SECRET,
        "password = '%s' application_name=quoted" % SECRET,
        "postgresql://postgres:%s@/postgres?%s&application_name=uri" % (SECRET, query),
        "postgresql:///postgres?%s&password=%s&application_name=uri_query" % (query, SECRET),
        "params:postgresql://postgres:%s@/postgres?%s&application_name=params_uri" % (SECRET, query),
        "params:password=%s application_name=params_conninfo" % SECRET,
    ]
    r = run([program("connect_args")] + forms)
    eq(r.status, 0, "exit status")
    eq(r.stdout, "connect_args: %d of %d connected\n" % (len(forms), len(forms)), "stdout")
    check_no_secret(r)
    report = r.only_report()
    items = [i for g in report.get("leaks", []) for i in g.get("items", [])]
    eq(len(items), len(forms), "leaked connections listed")
    for item in items:
        check("***" in str(item.get("conninfo")), "conninfo shows *** where the password was", item.get("conninfo"))


main(test)
