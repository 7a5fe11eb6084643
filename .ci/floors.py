#!/usr/bin/env python3
"""The import graph of a crate, counted from its own `crate::` and `super::` paths (tests and
comments aside): no cycle among files, none among top-level modules (a folder counts as one),
and, where the crate's lib.rs lists its floors, every import points to its own floor or below.
Also the size of its rooms: no source file over 500 lines, no function over 60 (tests aside).

usage: floors.py <crate src dir>...   (exit 1 on any cycle, upward import or oversized room)

A floor line in lib.rs reads `//! - <n> <words>: `mod`, `mod`, ...`, bottom floor first.
"""
import os
import re
import sys


def strip(text):
    """The code without its tests module and comments."""
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut < 0:
        cut = text.find("#[cfg(test)]\npub(crate) mod tests")
    if cut >= 0:
        text = text[:cut]
    out = []
    for line in text.split("\n"):
        if line.lstrip().startswith("//"):
            continue
        out.append(re.sub(r"\s//\s.*$", "", line))
    return "\n".join(out)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [tree.split(" as ")[0].strip()]
    head, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    return [head + p for part in parts if part.strip() for p in expand(part)]


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}
        for d, _, names in os.walk(src):
            for n in names:
                if n.endswith(".rs"):
                    rel = os.path.relpath(os.path.join(d, n), src)
                    self.files[rel] = open(os.path.join(d, n), encoding="utf-8").read()
        # The binary's own modules (main.rs and what it declares) speak to the library by name.
        self.binary = {"main.rs"}
        for m in re.findall(r"^mod (\w+);", self.files.get("main.rs", ""), re.M):
            self.binary.add(m + ".rs")

    @staticmethod
    def module(rel):
        parts = rel[:-3].split(os.sep)
        if parts[-1] in ("mod", "lib"):
            parts = parts[:-1]
        return parts

    def file_of(self, module):
        if not module:
            return "lib.rs"
        for cand in (os.path.join(*module) + ".rs", os.path.join(*module, "mod.rs")):
            if cand in self.files:
                return cand
        return None

    def resolve(self, rel, path):
        segs = [s for s in path.split("::") if s]
        here = self.module(rel)
        if segs[0] == "crate":
            mod = []
        elif segs[0] == "super":
            mod = here[:-1]
            while len(segs) > 1 and segs[1] == "super":
                mod = mod[:-1]
                segs = segs[1:]
        elif segs[0] == "self":
            mod = here
        else:
            return None
        for s in segs[1:]:
            if self.file_of(mod + [s]):
                mod = mod + [s]
            else:
                break
        return self.file_of(mod)

    def edges(self):
        out = {}
        for rel, text in self.files.items():
            if rel in self.binary:
                continue
            code = strip(text)
            paths = []
            for m in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]+);", code):
                paths += expand(m.group(1))
            paths += re.findall(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", code)
            # A child module is named without a prefix (`use values::X`, `values::f()`).
            children = re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);", code, re.M)
            for child in children:
                for m in re.finditer(rf"\buse\s+({child}::[^;]+);", code):
                    paths += ["self::" + p for p in expand(m.group(1))]
                paths += ["self::" + p for p in re.findall(rf"(?<![\w:])({child}(?:::\w+)+)", code)]
            targets = set()
            for p in paths:
                t = self.resolve(rel, p)
                if t and t != rel and t not in self.binary:
                    targets.add(t)
            out[rel] = targets
        return out


def cycles(graph):
    index, low, stack, on, found, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(10000)
    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def floors(lib_text):
    """Module -> floor, from the `//! - <n> ...: `a`, `b`` lines (and their indented
    continuation lines); only the names before a parenthesis or on the floor's own words count."""
    table, floor, text = {}, None, []

    def close():
        if floor is not None:
            # Names inside parentheses describe a module's parts, not floor members.
            flat = re.sub(r"\([^()]*\)", "", " ".join(text))
            for name in re.findall(r"`(\w+)`", flat):
                table[name] = floor

    for line in lib_text.split("\n"):
        m = re.match(r"^//! - (\d+)[^:]*: (.*)$", line)
        if m:
            close()
            floor, text = int(m.group(1)), [m.group(2)]
        elif floor is not None and line.startswith("//!   "):
            text.append(line[3:])
        else:
            close()
            floor, text = None, []
    close()
    return table


MAX_FILE, MAX_FN = 500, 60

# Literals whose braces are not the code's: raw strings first, then strings, then characters
# (a lifetime such as `'a` is never closed by a quote one character later).
LITERALS = re.compile(r'r(#*)".*?"\1|"(?:\\.|[^"\\])*"|\'(?:\\[^\']+|[^\'\\])\'')


def braces(line):
    """The braces of a line's code, its literals and line comment aside."""
    code = LITERALS.sub('""', line)
    code = re.sub(r"//.*$", "", code)
    return code.count("{"), code.count("}")


def rooms(crate):
    """Files over MAX_FILE lines and functions over MAX_FN lines, tests aside."""
    found = []
    for rel, text in sorted(crate.files.items()):
        cut = text.find("#[cfg(test)]\nmod tests")
        lines = (text if cut < 0 else text[:cut]).split("\n")
        if len(lines) > MAX_FILE:
            found.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE}, tests aside)")
        for i, line in enumerate(lines):
            m = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:const\s+)?fn\s+(\w+)", line)
            if not m:
                continue
            depth, opened = 0, False
            for j in range(i, len(lines)):
                opening, closing = braces(lines[j])
                depth += opening - closing
                opened = opened or opening > 0
                if opened and depth <= 0:
                    if j - i + 1 > MAX_FN:
                        found.append(f"{rel}:{i + 1}: fn {m.group(1)} has {j - i + 1} lines (at most {MAX_FN})")
                    break
                if not opened and lines[j].rstrip().endswith(";"):
                    break
    return found


def check(src):
    crate = Crate(src)
    files = crate.edges()
    top = lambda rel: (Crate.module(rel) or ["lib"])[0]
    modules = {}
    for f, ts in files.items():
        for t in ts:
            if top(f) != top(t):
                modules.setdefault(top(f), set()).add(top(t))
    problems = []
    for c in cycles(files):
        problems.append(f"{src}: files import each other in a cycle: {' -> '.join(c)}")
    for c in cycles(modules):
        problems.append(f"{src}: modules import each other in a cycle: {' -> '.join(c)}")
    table = floors(crate.files.get("lib.rs", ""))
    for a, ts in sorted(modules.items()):
        for b in sorted(ts):
            if a == "lib" or not table:
                continue
            if a not in table or b not in table:
                problems.append(f"{src}: `{a}` -> `{b}`: a module missing from the floors in lib.rs")
            elif table[b] > table[a]:
                problems.append(f"{src}: `{a}` (floor {table[a]}) imports `{b}` (floor {table[b]}), a floor up")
    problems += [f"{src}: {r}" for r in rooms(crate)]
    edges = sum(len(ts) for ts in files.values())
    print(f"{src}: {len(files)} files, {edges} file imports, {len(modules)} modules"
          f"{f', {len(table)} on {len(set(table.values()))} floors' if table else ''}: {len(problems)} problem(s)")
    return problems


def main():
    problems = [p for src in sys.argv[1:] for p in check(src)]
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
