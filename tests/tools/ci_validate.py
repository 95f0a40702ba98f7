"""Checks of poolwatch's CI formats with the tools CI systems and their
ecosystems trust, shared by the tool tests and the integration tests:

- SARIF with Microsoft's SARIF Multitool (`validate`, with the SARIF rules
  and GitHub's ingestion rules), installed from npm by
  scripts/install-sarif-multitool.sh;
- JUnit XML with xmllint against tests/tools/junit.xsd (see its header for
  the published schema it states);
- GitHub workflow commands parsed and unescaped as the runner does.
"""
import json
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
JUNIT_XSD = os.path.join(HERE, "junit.xsd")
INSTALLER = os.path.join(SOURCE_DIR, "scripts", "install-sarif-multitool.sh")

# The Multitool's warnings poolwatch accepts, each for a reason:
# SARIF2005 asks for the tool's informationUri, a web page about the tool;
# poolwatch has none (its manual is poolwatch(1)).
ACCEPTED_WARNINGS = {"SARIF2005"}


class Invalid(Exception):
    pass


def multitool(cache_dir):
    """Path of the SARIF Multitool, installed into CACHE_DIR if missing."""
    proc = subprocess.run(["sh", INSTALLER, cache_dir], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    if proc.returncode != 0:
        raise Invalid("cannot install the SARIF Multitool:\n" + proc.stderr)
    return proc.stdout.strip()


def validate_sarif(path, cache_dir, accepted=ACCEPTED_WARNINGS):
    """Validates the SARIF file PATH; returns it parsed. Raises Invalid with
    the Multitool's findings when it reports an error, or a warning not in
    ACCEPTED."""
    tool = multitool(cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "validation.sarif")
        proc = subprocess.run([tool, "validate", path, "--rule-kind", "Sarif;Gh",
                               "--level", "Error;Warning", "--output", out,
                               "--log", "ForceOverwrite"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=300)
        if not os.path.exists(out):
            raise Invalid("the Multitool wrote no validation log (status %d):\n%s"
                          % (proc.returncode, proc.stdout))
        with open(out) as f:
            log = json.load(f)
    problems = []
    for run in log.get("runs", []):
        for note in run.get("invocations", []):
            for n in note.get("toolExecutionNotifications", []) + note.get("toolConfigurationNotifications", []):
                if n.get("level", "warning") == "error":
                    problems.append("tool: %s" % n.get("message", {}).get("text"))
        for r in run.get("results", []):
            level = r.get("level", "warning")
            if level == "error" or (level == "warning" and r.get("ruleId") not in accepted):
                problems.append("%s %s: %s" % (level, r.get("ruleId"), result_text(r, run)))
    if proc.returncode != 0 or problems:
        raise Invalid("SARIF Multitool rejects %s (status %d):\n  %s\n%s"
                      % (path, proc.returncode, "\n  ".join(problems), proc.stdout[-3000:]))
    with open(path) as f:
        return json.load(f)


def result_text(result, run):
    """A validation result's message, its arguments filled into the rule's
    message string as the Multitool prints it."""
    message = result.get("message", {})
    if "text" in message:
        return message["text"]
    rules = run.get("tool", {}).get("driver", {}).get("rules", [])
    rule = next((x for x in rules if x.get("id") == result.get("ruleId")), {})
    template = rule.get("messageStrings", {}).get(message.get("id"), {}).get("text", message.get("id", ""))
    for i, arg in enumerate(message.get("arguments", [])):
        template = template.replace("{%d}" % i, str(arg))
    return template


def validate_junit(path):
    """Validates the JUnit XML file PATH against junit.xsd; returns its
    parsed root element."""
    proc = subprocess.run(["xmllint", "--noout", "--schema", JUNIT_XSD, path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60)
    if proc.returncode != 0:
        raise Invalid("xmllint rejects %s against %s:\n%s" % (path, JUNIT_XSD, proc.stdout))
    import xml.etree.ElementTree as ET
    return ET.parse(path).getroot()


COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def _unescape(text, property):
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if property:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, plain in pairs + [("%25", "%")]:
        text = text.replace(escaped, plain)
    return text


def parse_github(text):
    """The workflow commands among TEXT's lines, as dicts: command,
    properties (file, line, title, ...) and message, unescaped. A line that
    starts with "::" but is not a well-formed command raises Invalid."""
    found = []
    for line in text.splitlines():
        if not line.startswith("::"):
            continue
        m = COMMAND.match(line)
        if not m:
            raise Invalid("not a workflow command: %r" % line)
        properties = {}
        for part in (m.group(2) or "").split(","):
            if not part:
                continue
            if "=" not in part:
                raise Invalid("property without a value in %r" % line)
            key, value = part.split("=", 1)
            if key not in ("file", "line", "endLine", "col", "endColumn", "title"):
                raise Invalid("unknown property %r in %r" % (key, line))
            properties[key] = _unescape(value, True)
        if "line" in properties and not properties["line"].isdigit():
            raise Invalid("line is not a number in %r" % line)
        found.append({"command": m.group(1), "properties": properties,
                      "message": _unescape(m.group(3), False)})
    return found


SUMMARY = re.compile(r"^SUMMARY: poolwatch: (\d+) leaked connections, (\d+) leaked checkouts "
                     r"in (\d+) groups, (\d+) findings \((\d+) suppressed\)$")


def summary_numbers(text):
    """The numbers of TEXT's last line, which must be the SUMMARY line:
    (connections, checkouts, groups, findings, suppressed)."""
    lines = text.rstrip("\n").splitlines()
    m = SUMMARY.match(lines[-1]) if lines else None
    if not m:
        raise Invalid("the last line is not the SUMMARY line: %r" % (lines[-1] if lines else ""))
    return tuple(int(x) for x in m.groups())
