#!/usr/bin/env python3
"""Regenerate the standard resource class and trait lists.

Installs the pinned os-resource-classes and os-traits releases from PyPI into
a throwaway virtualenv and writes one name per line to
crates/placement-model/data/. The resource class file keeps the package's
order: a class's line number (from 0) is its database id, as upstream
Placement assigns it. Run from anywhere:

    python3 scripts/gen-standard-data.py
"""
import pathlib
import subprocess
import sys
import tempfile
import venv

OS_RESOURCE_CLASSES = "os-resource-classes==1.1.0"
OS_TRAITS = "os-traits==3.9.0"

DUMP = """
import os_resource_classes, os_traits, sys
out = sys.argv[1]
with open(out + '/standard_resource_classes.txt', 'w') as f:
    f.writelines(name + '\\n' for name in os_resource_classes.STANDARDS)
with open(out + '/standard_traits.txt', 'w') as f:
    f.writelines(name + '\\n' for name in sorted(os_traits.get_traits()))
"""


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "crates" / "placement-model" / "data"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        py = pathlib.Path(tmp) / "bin" / "python"
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        OS_RESOURCE_CLASSES, OS_TRAITS], check=True)
        subprocess.run([py, "-c", DUMP, str(out)], check=True)
    (out / "VERSIONS").write_text(f"{OS_RESOURCE_CLASSES}\n{OS_TRAITS}\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
