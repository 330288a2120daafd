#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The man pages (and docs/) name everything the code defines.

The lists come from the code's own tables, so a command, option or key
added there fails this test until the documentation has it:
 - CLI commands: the `syntax` of every entry of the command tables in
   lib/cli/*.c ({ "show backends NAME", "help text", handler, ...});
 - `add service` options: the option table of lib/cli (`{ "bounded", G_...`);
 - config keys: the X-macro key lists of lib/config (X(S_VIP, "vip"));
 - limpet's options: the getopt table of app/limpet/main.c.
Each must appear in the built troff of its page: commands as their whole
syntax (fonts stripped), options and keys in bold. docs/cli.md and
docs/configuration.md must name each command (its keywords) and key too.

usage: test_man.py SOURCE_ROOT LIMPET.8 LIMPETCTL.8 LIMPET.YAML.5
"""
import glob
import os
import re
import sys

root, man_limpet, man_ctl, man_yaml = sys.argv[1:5]
failures = 0
checks = 0


def check(ok, what):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)


def sources(pattern):
    text = ""
    for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
        with open(path) as f:
            text += f.read()
    return text


def plain(troff):
    """The text of a troff page: requests dropped, fonts and escapes removed."""
    lines = [l for l in troff.split("\n") if not l.startswith(".") and not l.startswith("'")]
    text = " ".join(lines)
    text = re.sub(r"\\f[BIRP]", "", text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    text = re.sub(r"\\\(..", "", text)
    return re.sub(r"\s+", " ", text)


def bold(troff, word):
    """`word` as a whole word inside a bold span (\\fB ... \\fR)."""
    w = re.escape(word)
    return re.search(r"\\fB(?:[^\\]*?[^A-Za-z0-9_\\-])?%s(?![A-Za-z0-9_-])[^\\]*?\\f[RP]" % w,
                     troff.replace("\\-", "-")) is not None


cli = sources("lib/cli/**/*.c")
commands = re.findall(r'\{\s*"([a-z][^"]*)",\s*"[^"]*"', cli)
svc_opts = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*G_[A-Z0-9_]+', cli)
keys = sorted(set(re.findall(r'X\(\s*[A-Z][A-Z0-9_]*\s*,\s*"([A-Za-z][A-Za-z0-9_]*)"\s*\)',
                             sources("lib/config/**/*.[ch]"))))
main_c = sources("app/limpet/*.c")
longopts = re.findall(r'\{\s*"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument', main_c)

# The extraction itself must work, or this test would pass on nothing.
check(len(commands) >= 25 and "show backends NAME" in commands and "reload [FILE]" in commands,
      "found the CLI command tables (%d commands)" % len(commands))
check(len(svc_opts) >= 20 and "bounded" in svc_opts, "found the add-service options (%d)" % len(svc_opts))
check(len(keys) >= 40 and "sessionAffinity" in keys and "tcp_timeout" in keys,
      "found the config key lists (%d keys)" % len(keys))
check(len(longopts) >= 8 and "check-config" in longopts, "found limpet's options (%d)" % len(longopts))

pages = {}
for path in (man_limpet, man_ctl, man_yaml):
    with open(path) as f:
        pages[os.path.basename(path)] = f.read()
ctl_troff, yaml_troff, limpet_troff = pages["limpetctl.8"], pages["limpet.yaml.5"], pages["limpet.8"]
ctl_text = plain(ctl_troff)

with open(os.path.join(root, "docs/cli.md")) as f:
    cli_md = f.read()
with open(os.path.join(root, "docs/configuration.md")) as f:
    config_md = f.read()

for c in commands:
    check(c in ctl_text, "limpetctl(8) lacks the command `%s`" % c)
    # docs/cli.md: the command's keywords (the words before its first argument).
    kw = re.match(r"[a-z][a-z ]*[a-z]", c).group(0)
    kw = " ".join(w for w in kw.split() if w.islower())
    check("`" + kw in cli_md, "docs/cli.md lacks the command `%s`" % c)
for o in svc_opts:
    check(bold(ctl_troff, o), "limpetctl(8) lacks the add-service option `%s` (in bold)" % o)
    check("`" + o in cli_md, "docs/cli.md lacks the add-service option `%s`" % o)
for k in keys:
    check(bold(yaml_troff, k), "limpet.yaml(5) lacks the config key `%s` (in bold)" % k)
    # In a code span, alone or as a component of a dotted path (`a.clientIP.b`).
    check(re.search(r"`(?:[A-Za-z0-9_]+\.)*%s(?:\.[A-Za-z0-9_.]+)?`" % re.escape(k), config_md) is not None,
          "docs/configuration.md lacks the key `%s`" % k)
for o in longopts:
    check(bold(limpet_troff, "--" + o), "limpet(8) lacks the option `--%s` (in bold)" % o)

print("%d commands, %d service options, %d config keys, %d limpet options" %
      (len(commands), len(svc_opts), len(keys), len(longopts)))
print("%d passed, %d failed" % (checks - failures, failures))
sys.exit(1 if failures else 0)
