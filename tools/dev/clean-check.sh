#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The README's two commands on a machine where nothing is installed: a
# fresh Debian 12 root (debootstrap --variant=minbase: no compiler, no
# DPDK, no iproute2, no python3), a clean checkout of HEAD in it
# (git archive: only what is committed), then, as root in a chroot with
# CI=true,
#
#   ./tools/demo.sh      (must end on its own; no terminal: no pauses)
#   ./tools/test.sh      (installs everything itself; any skip fails it)
#
# Each one's output goes to OUT/demo.log and OUT/test.log, and
# OUT/summary.txt gets their exit status and duration. A developer tool,
# not a test: it downloads about 400 MB of packages and takes 20-30
# minutes on 2 cores. Run it as root from a checkout:
#
#   tools/dev/clean-check.sh [--keep]        # --keep: leave the root behind
#
# Environment: STEPS (default "demo test"), MIRROR (default: the first Debian URI in this machine's apt
# sources, else http://deb.debian.org/debian), ROOT (default a new
# directory under /var/tmp), OUT (default ROOT.out), LAB_PREFIX (the e2e
# labs' namespace prefix, default cc-).
#
# How it isolates: the chroot shares this machine's kernel (network
# namespaces, hugepages, veth) but sees only the new root's files; /proc,
# /sys and /dev are bind-mounted into it (mount --make-rslave, so nothing
# unmounted inside reaches the host), and everything mounted under the
# root is unmounted when the script ends, however it ends.
set -euo pipefail

keep=
[ "${1:-}" = --keep ] && keep=1
if [ "$(id -u)" -ne 0 ]; then
	echo "clean-check: run me as root (debootstrap, chroot, mounts)" >&2
	exit 1
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v debootstrap >/dev/null 2>&1 || {
	echo "clean-check: installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# The mirror this machine's apt uses (deb822 or one-line sources).
if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }')
	[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null || true)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
ROOT=${ROOT:-$(mktemp -d /var/tmp/limpet-clean.XXXXXX)}
OUT=${OUT:-$ROOT.out}
mkdir -p "$ROOT" "$OUT"
: >"$OUT/summary.txt"

cleanup() {
	# Deepest mounts first (netns bind mounts, /dev/pts, ..., the root), lazily if busy.
	grep -oE " $ROOT(/[^ ]*)? " /proc/self/mounts | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if [ -z "$keep" ]; then
		rm -rf --one-file-system "$ROOT"
	else
		echo "clean-check: root kept in $ROOT"
	fi
}
trap cleanup EXIT

log() { printf '%s %s\n' "$(date '+%F %T')" "$*" | tee -a "$OUT/summary.txt"; }

log "commit $(git -C "$src" rev-parse HEAD) ($(git -C "$src" log -1 --format=%s | cut -c1-70))"
log "debootstrap --variant=minbase bookworm $ROOT $MIRROR"
t0=$SECONDS
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$OUT/debootstrap.log" 2>&1
log "base system in $((SECONDS - t0)) s: $(chroot "$ROOT" dpkg-query -W -f='.\n' | wc -l) packages"
# Debian 12's usual sources: the release, its updates and security.
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian*}/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# What the Debian installer writes and debootstrap does not.
echo limpet-clean >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	limpet-clean
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
for t in gcc meson ninja pkg-config python3 ip ethtool curl tcpdump dpdk-testpmd; do
	if chroot "$ROOT" sh -c "command -v $t" >/dev/null 2>&1; then
		log "warning: $t is already in the fresh root"
	fi
done

mkdir -p "$ROOT/src/limpet"
git -C "$src" archive HEAD | tar -x -C "$ROOT/src/limpet"
# The root a mount point of its own: `ip netns exec` makes "/" a slave
# mount in its namespace, which fails (EINVAL) when "/" is a plain directory.
mount --bind "$ROOT" "$ROOT"
mount --make-private "$ROOT"
for d in proc sys dev; do
	mount --rbind "/$d" "$ROOT/$d"
	mount --make-rslave "$ROOT/$d"
done

# in_root NAME COMMAND: run a README command in the root as a CI would.
in_root() {
	local name=$1 cmd=$2 rc t=$SECONDS
	log "$name: $cmd (CI=true, in the chroot)"
	set +e
	chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 CI=true LAB_PREFIX="${LAB_PREFIX:-cc-}" \
		bash -c "cd /src/limpet && $cmd" </dev/null >"$OUT/$name.log" 2>&1
	rc=$?
	set -e
	log "$name: exit status $rc after $((SECONDS - t)) s (log: $OUT/$name.log)"
	return $rc
}

status=0
for step in ${STEPS:-demo test}; do
	case $step in
	demo) in_root demo ./tools/demo.sh || status=1 ;;
	test) in_root test ./tools/test.sh || status=1 ;;
	esac
done
if [ -f "$OUT/test.log" ]; then
	grep -h '^skipped: ' "$OUT/test.log" | sed 's/^/    /' | tee -a "$OUT/summary.txt" || true
	grep -hE '^(Ok|Fail|Skipped|Timeout): ' "$OUT/test.log" | paste -sd' ' | tr -s ' ' |
		sed 's/^/    meson (build, then build-asan): /' | tee -a "$OUT/summary.txt" || true
fi
log "clean-check: $([ $status -eq 0 ] && echo PASSED || echo FAILED) (summary: $OUT/summary.txt)"
exit $status
