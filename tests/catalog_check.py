#!/usr/bin/env python3
"""The event catalog has one source (include/probehook/catalog.h); everything
else that names events must agree with it: the provider file, the shared
library's API, the USDT notes in the built binaries.  Usage:
    catalog_check.py SOURCE_DIR BUILD_DIR
"""
import pathlib
import re
import subprocess
import sys

STRING_KINDS = {"TEXT", "TEXT_NULL", "JSON"}
INT_KINDS = {"INT", "TIME_NS", "DURATION_US"}
problems = []


def load_catalog(src):
    text = (src / "include/probehook/catalog.h").read_text()
    rows = re.findall(r'X\((\d+),\s*(\w+),\s*"([\w.]+)",\s*(\w+),(.*?)\)\s*\\?\n(?=\s*(?:X\(|$|\n|#))',
                      text.replace("\\\n", "\n"), re.S)
    catalog = []
    for ident, name, etype, probe, rest in rows:
        slots = [s.strip() for s in rest.replace("\n", " ").split(",")]
        pairs = list(zip(slots[0::2], slots[1::2]))
        args = [(k, f.strip('"')) for k, f in pairs if k != "NONE"]
        catalog.append({"id": int(ident), "name": name, "type": etype, "probe": probe, "args": args})
    return catalog


def check_names(catalog):
    if [e["id"] for e in catalog] != list(range(len(catalog))):
        problems.append("catalog ids are not 0..N-1 in order")
    for e in catalog:
        if e["name"] != e["type"].upper().replace(".", "_"):
            problems.append(f"{e['type']}: macro name {e['name']}")
        if e["probe"] != e["type"].replace(".", "__"):
            problems.append(f"{e['type']}: probe name {e['probe']}")
        if e["args"][0] != ("TEXT", "agent_id"):
            problems.append(f"{e['type']}: first argument is not agent_id")


def check_provider(src, catalog):
    text = (src / "probes/probehook.d").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    probes = re.findall(r"probe\s+(\w+)\s*\(([^)]*)\)\s*;", text)
    if [p for p, _ in probes] != [e["probe"] for e in catalog]:
        problems.append(f"probehook.d probes {[p for p, _ in probes]} differ from the catalog")
    for (probe, args), e in zip(probes, catalog):
        types = [a.strip() for a in args.split(",") if a.strip()]
        want = ["const char *" if k in STRING_KINDS else "int64_t" for k, _ in e["args"]]
        if types != want:
            problems.append(f"probehook.d {probe}: {types} != {want}")


def check_library_header(src, catalog):
    text = (src / "include/probehook/libprobehook.h").read_text()
    for e in catalog:
        fn = "probehook_" + e["type"].replace(".", "_")
        m = re.search(r"void\s+" + fn + r"\s*\(([^)]*)\)", text)
        if not m:
            problems.append(f"libprobehook.h: no {fn}()")
            continue
        params = [p.strip() for p in m.group(1).split(",")]
        if len(params) != len(e["args"]):
            problems.append(f"libprobehook.h: {fn} takes {len(params)} args, want {len(e['args'])}")
        for p, (kind, field) in zip(params, e["args"]):
            want = "const char *" if kind in STRING_KINDS else "int64_t"
            if not p.startswith(want):
                problems.append(f"libprobehook.h: {fn}: '{p}' is not {want} ({field})")


def usdt_notes(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    notes = {}
    for block in out.split("stapsdt")[1:]:
        prov = re.search(r"Provider:\s*(\S+)", block)
        name = re.search(r"Name:\s*(\S+)", block)
        sem = re.search(r"Semaphore:\s*(\S+)", block)
        args = re.search(r"Arguments:\s*(.*)", block)
        if prov and prov.group(1) == "probehook":
            notes.setdefault(name.group(1), []).append(
                (int(sem.group(1), 16), args.group(1).split() if args else []))
    return notes


def check_binary(path, catalog):
    notes = usdt_notes(path)
    if set(notes) != {e["probe"] for e in catalog}:
        problems.append(f"{path.name}: probes {sorted(notes)} differ from the catalog")
    for e in catalog:
        for sem, args in notes.get(e["probe"], []):
            if sem == 0:
                problems.append(f"{path.name}: {e['probe']} has no semaphore")
            if len(args) != len(e["args"]):
                problems.append(f"{path.name}: {e['probe']} has {len(args)} args")
            for a, (kind, field) in zip(args, e["args"]):
                size = a.split("@")[0]
                want = "8" if kind in STRING_KINDS else "-8"
                if size != want:
                    problems.append(f"{path.name}: {e['probe']} {field} is {a}, want {want}@")


def check_python(src, build, catalog):
    """The Python binding agrees with the catalog: types in id order, argument kinds and
    fields, one function per event whose parameters are the payload fields, and it finds
    the built library's semaphores."""
    import importlib
    import inspect
    import os
    os.environ["PROBEHOOK_LIB"] = str(build / "libprobehook.so")
    sys.path.insert(0, str(src / "probes/python"))
    try:
        probehook = importlib.import_module("probehook")
    finally:
        sys.path.pop(0)
    rows = list(probehook.CATALOG)
    if len(rows) != len(catalog):
        problems.append(f"probehook.CATALOG has {len(rows)} rows, catalog.h {len(catalog)}")
    for i, e in enumerate(catalog):
        want = (e["type"], tuple(e["args"]))
        if i < len(rows) and rows[i] != want:
            problems.append(f"probehook.CATALOG[{i}] {rows[i]} != catalog.h {want}")
    if probehook.EVENT_TYPES != tuple(e["type"] for e in catalog):
        problems.append(f"probehook.EVENT_TYPES {probehook.EVENT_TYPES} differ from the catalog")
    for e in catalog:
        name = e["type"].replace(".", "_")
        fn = getattr(probehook, name, None)
        if not callable(fn):
            problems.append(f"probes/python: no probehook.{name}()")
            continue
        params = list(inspect.signature(fn).parameters)
        fields = [field for _, field in e["args"]]
        if params != fields:
            problems.append(f"probes/python: {name}({', '.join(params)}) != fields {fields}")
    if probehook.info()["gate"] != "semaphore":
        problems.append(f"probes/python: semaphores not found ({probehook.info()})")


def main():
    src, build = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    catalog = load_catalog(src)
    count = re.search(r"PROBEHOOK_EVENT_COUNT (\d+)",
                      (src / "include/probehook/catalog.h").read_text())
    if len(catalog) != int(count.group(1)) or len(catalog) != 8:
        problems.append(f"parsed {len(catalog)} catalog rows, PROBEHOOK_EVENT_COUNT={count.group(1)}")
    check_names(catalog)
    check_provider(src, catalog)
    check_library_header(src, catalog)
    for binary in ("libprobehook.so", "probehook-demo-agent"):
        check_binary(build / binary, catalog)
    check_python(src, build, catalog)
    for p in problems:
        print("problem:", p)
    print(f"catalog_check: {len(catalog)} events, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
