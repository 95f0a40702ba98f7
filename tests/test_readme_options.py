"""README's options table lists every POOLWATCH_* variable of the options
table in shim/common/options.c, the one place options are defined."""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(root, "shim", "common", "options.c")) as f:
    names = re.findall(r'\{"(POOLWATCH_[A-Z_]+)"', f.read())
with open(os.path.join(root, "README.md")) as f:
    rows = set(re.findall(r"^\| `(POOLWATCH_[A-Z_]+)` \|", f.read(), re.M))
missing = [n for n in names if n not in rows]
extra = sorted(rows - set(names))
print("options in shim/common/options.c: %s" % ", ".join(names))
if not names or missing or extra:
    print("FAIL README's options table: missing %s, unknown %s" % (missing, extra))
    sys.exit(1)
print("ok   README lists every option")
