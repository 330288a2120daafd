#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Circles between the files of each lib/ module, read from the object files.

A file uses another when its object file refers to a symbol (a function or
a table) the other defines. A circle is a set of files that use each other
round (A uses B, B uses A; or A -> B -> C -> A). Prints, per module, what
each file uses and every circle with the symbols that close it; exits 1
when there is a circle.

    tools/file_cycles.py build                 # every module
    tools/file_cycles.py build config export   # some of them

Needs `nm` and a build directory (object files of lib/liblimpet.a).
"""
import collections
import glob
import os
import subprocess
import sys


def objects(build):
    """{module: {file: (defined, undefined)}} from liblimpet.a's object files."""
    mods = collections.defaultdict(dict)
    for obj in sorted(glob.glob(os.path.join(build, 'lib', 'liblimpet.a.p', '*.o'))):
        mod, name = os.path.basename(obj)[:-len('.c.o')].split('_', 1)
        defined, undefined = set(), set()
        out = subprocess.run(['nm', obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == 'U':
                undefined.add(parts[1])
            elif len(parts) == 3 and parts[1] in 'TDBR':
                defined.add(parts[2])
        mods[mod][name] = (defined, undefined)
    return mods


def circles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    mods = objects(sys.argv[1])
    if not mods:
        sys.exit(f'{sys.argv[1]}: no object files of liblimpet.a')
    bad = 0
    for mod in sys.argv[2:] or sorted(mods):
        files = mods[mod]
        owner = {sym: f for f, (defined, _) in files.items() for sym in defined}
        edges = {f: sorted({owner[s] for s in undefined if s in owner and owner[s] != f})
                 for f, (_, undefined) in files.items()}
        print(f'{mod}:')
        for f in sorted(files):
            print(f'  {f} -> {", ".join(edges[f]) or "-"}')
        for comp in circles(edges):
            bad += 1
            print(f'  CIRCLE: {" ".join(comp)}')
            for f in comp:
                for sym in sorted(files[f][1]):
                    if owner.get(sym) in comp and owner[sym] != f:
                        print(f'    {f} uses {sym} ({owner[sym]})')
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
