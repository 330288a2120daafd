#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The Debian package, built and installed as an operator would:
#  1. `dpkg-buildpackage -us -uc -b` on a copy of the checkout gives
#     limpet_*.deb;
#  2. lintian reports nothing but justified overrides (errors, warnings,
#     info and pedantic tags all fail);
#  3. `dpkg -i` installs it into a fresh root: its dependencies resolve,
#     its maintainer scripts run, its conffiles are registered;
#  4. every file limpet(8), limpetctl(8) and limpet.yaml(5) name under
#     FILES is there, the man pages open, the binaries find their libraries;
#  5. `limpet --check-config /etc/limpet/limpet.yaml` accepts the example;
#  6. `systemd-analyze verify` finds nothing to say about the units;
#  7. bash completion for limpetctl loads; `dpkg --purge` removes it all.
#
# The fresh root: an overlay whose lower layer is this machine's own root,
# read-only, and whose upper layer is an empty directory, mounted in a
# private mount namespace and entered with chroot. It is a Debian 12 system
# with the packages tools/deps.sh installed and no limpet (checked), so
# dpkg resolves the real dependencies against Debian's DPDK and libyaml and
# runs the real maintainer scripts; whatever the install writes lands in
# the upper layer and vanishes with the namespace. It needs no network and
# no mirror (debootstrap would need both, and minutes), and nothing leaves
# the host changed.
#
# usage: test_deb.sh SOURCE_ROOT
set -euo pipefail

SRC=$(cd "$1" && pwd)
TMP=$(mktemp -d /tmp/limpet-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

skip() {	# a missing tool: a failure in CI, a skip elsewhere
	echo "SKIP: $*" >&2
	if [ "${CI:-}" = true ]; then exit 1; fi
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg in a chroot, overlay mounts)"
for t in dpkg-buildpackage dh lintian systemd-analyze unshare chroot scdoc; do
	command -v "$t" >/dev/null || skip "$t is not installed (tools/deps.sh installs it)"
done

checks=0
failures=0
pass() { checks=$((checks + 1)); echo "ok: $*"; }
fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}
t0=$(date +%s)

# --- 1. build, from a copy: dpkg-buildpackage writes into the tree and beside it.
mkdir -p "$TMP/src/limpet"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -z -co --exclude-standard | tar --null -cf - -T - 2>/dev/null) |
		tar -xf - -C "$TMP/src/limpet"
else
	tar -C "$SRC" --exclude='./build*' -cf - . | tar -xf - -C "$TMP/src/limpet"
fi
if (cd "$TMP/src/limpet" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$TMP/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
	fail "dpkg-buildpackage -us -uc -b failed:"
	tail -40 "$TMP/build.log" >&2
	exit 1
fi
DEB=$(ls "$TMP"/src/limpet_*_*.deb)
if [ -f "$DEB" ]; then pass "built $(basename "$DEB")"; else fail "no limpet_*.deb"; exit 1; fi
# No warning from the compiler under Debian's flags, nor from dpkg-shlibdeps.
if grep -E "(warning|error): " "$TMP/build.log" >"$TMP/warnings"; then
	fail "the package build warns:"; sed 's/^/    /' "$TMP/warnings" >&2
else
	pass "the package build warns of nothing (compiler, dpkg-shlibdeps)"
fi

# --- 2. lintian: clean, or overridden with a reason in debian/limpet.lintian-overrides.
t1=$(date +%s)
if lintian --pedantic --display-info --fail-on error,warning,info,pedantic \
	"$TMP"/src/limpet_*.changes >"$TMP/lintian.log" 2>&1; then
	pass "lintian: no tag but the overridden ones ($(($(date +%s) - t1)) s)"
else
	fail "lintian:"
fi
# Once more for the record, overrides shown (this form always exits non-zero).
lintian --pedantic --display-info --show-overrides "$TMP"/src/limpet_*.changes >>"$TMP/lintian.log" 2>&1 || true
{ grep -E '^[EWIPXO]: ' "$TMP/lintian.log" || true; } | sort -u | sed 's/^/    lintian: /'

# --- 3. a fresh root, and the package in it.
mkdir -p "$TMP/upper" "$TMP/work" "$TMP/root"
cp "$DEB" "$TMP/limpet.deb"
cat >"$TMP/inside.sh" <<'EOF'
# Runs in the private mount namespace: $1 = the test's directory.
set -u
T=$1 R=$1/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$R" || exit 90
mount -t proc proc "$R/proc" || exit 90
mount --bind /dev "$R/dev" || exit 90
mkdir -p "$R/var/tmp/pkg" && cp "$T/limpet.deb" "$R/var/tmp/pkg/" || exit 90
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

if in_root dpkg-query -W -f='${Status}' limpet 2>/dev/null | grep -q installed || [ -e "$R/usr/sbin/limpet" ]; then
	echo "FAIL: the root is not fresh: limpet is installed on this machine"; exit 1
fi
echo "ok: the root has no limpet before the install"
in_root dpkg -i /var/tmp/pkg/limpet.deb >"$T/dpkg.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then echo "FAIL: dpkg -i failed:"; sed 's/^/    /' "$T/dpkg.log"; exit 1; fi
echo "ok: dpkg -i installs it (dependencies resolved, maintainer scripts ran)"
st=$(in_root dpkg-query -W -f='${Status} ${Version}' limpet)
case $st in "install ok installed "*) echo "ok: dpkg says: $st" ;; *) echo "FAIL: dpkg says: $st" ;; esac
cf=$(in_root dpkg-query -W -f='${Conffiles}' limpet)
for f in /etc/limpet/limpet.yaml /etc/default/limpet; do
	case $cf in *"$f "*) echo "ok: $f is a conffile" ;; *) echo "FAIL: $f is not a conffile: $cf" ;; esac
done

# --- 4. the files where the man pages say.
for page in limpet.8 limpetctl.8 limpet.yaml.5; do
	sec=${page##*.}
	if in_root man -w "${page%.*}" >/dev/null 2>&1 && [ -f "$R/usr/share/man/man$sec/$page.gz" ]; then
		echo "ok: man ${page%.*}($sec) is installed"
	else
		echo "FAIL: man ${page%.*}($sec) is not installed"
	fi
	# FILES: the entries (an italic path alone on its line); /run holds what
	# the running service creates.
	zcat "$R/usr/share/man/man$sec/$page.gz" | awk '/^\.SH "?FILES/ { on = 1; next } /^\.SH/ { on = 0 } on' |
		sed 's/\\&//g' | grep -x '\\fI/[^\\]*\\fR' | sed 's/^\\fI//; s/\\fR$//' | sort -u >"$T/files.$page"
	[ -s "$T/files.$page" ] || echo "FAIL: $page has no FILES section with paths"
	while read -r f; do
		case $f in /run/*) continue ;; esac
		if [ -e "$R$f" ]; then echo "ok: $page FILES: $f"; else echo "FAIL: $page FILES names $f, not installed"; fi
	done <"$T/files.$page"
done
for b in /usr/sbin/limpet /usr/sbin/limpetctl; do
	if in_root ldd "$b" | grep -q 'not found'; then
		echo "FAIL: $b misses libraries:"; in_root ldd "$b" | grep 'not found'
	else
		echo "ok: $b finds every library"
	fi
done
out=$(in_root limpetctl -s /run/limpet-test-nobody.sock show services 2>&1); rc=$?
[ $rc -eq 2 ] && echo "ok: limpetctl runs (exit 2: no limpet there)" || echo "FAIL: limpetctl: exit $rc: $out"

# --- 5. the example configuration.
if out=$(in_root limpet --check-config /etc/limpet/limpet.yaml 2>&1); then
	echo "ok: limpet --check-config /etc/limpet/limpet.yaml: $out"
else
	echo "FAIL: limpet --check-config /etc/limpet/limpet.yaml: $out"
fi

# --- 6. the units. Any output at all (even a warning) fails.
out=$(in_root systemd-analyze verify /lib/systemd/system/limpet.service \
	/lib/systemd/system/limpet-hugepages.service 2>&1); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	echo "ok: systemd-analyze verify limpet.service limpet-hugepages.service: clean"
else
	echo "FAIL: systemd-analyze verify (exit $rc):"; echo "$out" | sed 's/^/    /'
fi
unit=$(cat "$R/lib/systemd/system/limpet.service")
for want in 'Type=notify' 'WatchdogSec=' 'ExecStartPre=/usr/sbin/limpet --check-config /etc/limpet/limpet.yaml' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'ExecStart=/usr/sbin/limpet $LIMPET_EAL_OPTS -- --config /etc/limpet/limpet.yaml'; do
	case $unit in *"$want"*) echo "ok: limpet.service has $want" ;; *) echo "FAIL: limpet.service lacks $want" ;; esac
done
if [ -e "$R/etc/systemd/system/multi-user.target.wants/limpet.service" ]; then
	echo "FAIL: the install enabled limpet.service (it must wait for a configuration)"
else
	echo "ok: the install leaves limpet.service disabled"
fi

# --- 7. completion, then purge.
if in_root bash -c '. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/limpetctl;
	complete -p limpetctl' 2>&1 | grep -q '_limpetctl'; then
	echo "ok: bash completion for limpetctl loads"
else
	echo "FAIL: bash completion for limpetctl does not load"
fi
if in_root dpkg --purge limpet >"$T/purge.log" 2>&1 && [ ! -e "$R/usr/sbin/limpet" ] && [ ! -e "$R/etc/limpet/limpet.yaml" ]; then
	echo "ok: dpkg --purge removes the binaries and the conffiles"
else
	echo "FAIL: dpkg --purge:"; sed 's/^/    /' "$T/purge.log"
fi
EOF
t2=$(date +%s)
rc=0
unshare --mount --propagation private bash "$TMP/inside.sh" "$TMP" >"$TMP/inside.log" 2>&1 || rc=$?
while IFS= read -r line; do
	case $line in
	ok:*) pass "${line#ok: }" ;;
	FAIL:*) fail "${line#FAIL: }" ;;
	*) echo "$line" >&2 ;;
	esac
done <"$TMP/inside.log"
if [ $rc -eq 90 ]; then fail "could not set up the overlay root (overlayfs, mount namespaces)"; fi
echo "install checks: $(($(date +%s) - t2)) s; whole test: $(($(date +%s) - t0)) s"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
