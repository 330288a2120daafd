#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# meson install script: install-if-absent.sh SRC DEST MODE
# Install SRC as DEST (under $DESTDIR) unless DEST exists: `meson install`
# never overwrites a configuration an operator edited. (The Debian package
# installs into an empty tree, and dpkg then treats the files as conffiles.)
set -eu
src=$1
dest=${DESTDIR:-}$2
mode=$3
if [ -e "$dest" ]; then
	echo "limpet: keeping $dest (the example is $src)"
	exit 0
fi
install -D -m "$mode" "$src" "$dest"
echo "Installing $src to $dest"
