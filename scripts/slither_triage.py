"""Check Slither's High/Medium findings against the committed triage file.

Usage: python scripts/slither_triage.py results/slither.json contracts/slither-triage.json

Each finding is identified by its detector (`check`) and a stable location, `where`: the dotted
path of its first element (`Contract.function`, or `Contract.function.variable` for a local
variable), which survives edits that only move lines. A High/Medium finding is triaged when the
triage file holds an entry with the same `check` and `where` and a non-empty `reason`. Prints
`slither_high_medium: N`, `slither_high_medium_untriaged: N` and the Low/Informational count;
exits 1 when a High/Medium finding is untriaged, 2 when Slither itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from typing import Any

SERIOUS = ("High", "Medium")


def where(element: dict[str, Any]) -> str:
    """Dotted path of a Slither result element: its name under its parents' names."""
    names = []
    node: dict[str, Any] | None = element
    while node is not None:
        if node.get("type") != "node":  # a statement: its function names the place
            names.append(str(node["name"]))
        node = node.get("type_specific_fields", {}).get("parent")
    return ".".join(reversed(names))


def location(element: dict[str, Any], root: str) -> str:
    """File and first line of an element, relative to `root` (for messages only)."""
    mapping = element.get("source_mapping") or {}
    path = mapping.get("filename_absolute") or mapping.get("filename_relative") or "?"
    if root and os.path.isabs(path):
        path = os.path.relpath(path, root)
    lines = mapping.get("lines") or [0]
    return f"{path}#{lines[0]}"


def load_triage(path: str) -> dict[tuple[str, str], str]:
    """(check, where) -> reason, refusing entries without a written reason."""
    with open(path, encoding="utf-8") as fh:
        entries = json.load(fh)["findings"]
    triage = {}
    for entry in entries:
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise SystemExit(f"{path}: entry {entry} has no reason")
        triage[(entry["check"], entry["where"])] = reason
    return triage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="Slither --json output")
    parser.add_argument("triage", help="the committed triage file")
    parser.add_argument("--root", default=os.getcwd(), help="repository root, for messages")
    args = parser.parse_args(argv)

    with open(args.results, encoding="utf-8") as fh:
        report = json.load(fh)
    if not report.get("success"):
        print(f"slither failed: {report.get('error')}", file=sys.stderr)
        return 2
    findings = report.get("results", {}).get("detectors", [])
    triage = load_triage(args.triage)

    serious = [f for f in findings if f["impact"] in SERIOUS]
    untriaged = []
    seen: set[tuple[str, str]] = set()
    for finding in serious:
        key = (finding["check"], where(finding["elements"][0]))
        seen.add(key)
        if key not in triage:
            untriaged.append((finding, key))
    other = Counter(f["impact"] for f in findings if f["impact"] not in SERIOUS)

    for finding, (check, place) in untriaged:
        first = finding["description"].splitlines()[0]
        print(
            f"UNTRIAGED {finding['impact']} {check} at {place} "
            f"({location(finding['elements'][0], args.root)}): {first}",
            file=sys.stderr,
        )
    stale = sorted(set(triage) - seen)
    for check, place in stale:
        print(f"note: triage entry no longer reported: {check} at {place}", file=sys.stderr)

    print(f"slither_high: {sum(f['impact'] == 'High' for f in serious)}")
    print(f"slither_high_medium: {len(serious)}")
    print(f"slither_high_medium_untriaged: {len(untriaged)}")
    print(f"slither_low_informational: {sum(other.values())}")
    print(f"slither_triage_stale: {len(stale)}")
    return 1 if untriaged else 0


if __name__ == "__main__":
    sys.exit(main())
