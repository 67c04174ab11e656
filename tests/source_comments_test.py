#!/usr/bin/python3
"""The product explains itself: no source file cites documents that are not in the repository — the
research notes (feed-mapping.md, opencti-protocol.md, taxii-servers.md, kaspersky-services.md), a
spec/ folder, or their numbered sections ("§6.3"). Comments point at the module READMEs instead.
Sections of public standards stay allowed ("RFC 9110 §10.2.3", "TAXII 2.1 §3.4.1").

    /usr/bin/python3 tests/source_comments_test.py <source dir>
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
FOLDERS = ["config", "taxii", "connector", "tests", "deploy", "bench"]
SUFFIXES = {".cpp", ".h", ".in", ".inc", ".tsv", ".cmake", ".sh", ".py", ".txt"}
OUTSIDE = re.compile(r"feed-mapping|opencti-protocol|taxii-servers|kaspersky-services|spec/|§")
STANDARD_SECTION = re.compile(r"(RFC \d+|TAXII 2\.\d|STIX 2\.\d) §[\d.]+")

problems = []
for folder in FOLDERS:
    for path in sorted((ROOT / folder).rglob("*")):
        if not path.is_file() or path.suffix not in SUFFIXES or path.name == pathlib.Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(STANDARD_SECTION.sub("", line)):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")

for problem in problems:
    print(problem)
if problems:
    print("source comments cite documents outside the repository: point them at the module README instead")
print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
sys.exit(1 if problems else 0)
