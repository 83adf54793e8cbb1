#!/bin/sh
# What tests/test_walkthrough_browser.py needs on a fresh Debian machine: Debian's chromium.
# The test drives it with the python package playwright (from the project's test extra), given
# chromium's path; `playwright install` and its browser downloads are not needed.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
chromium --version
