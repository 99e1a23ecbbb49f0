#!/usr/bin/env bash
# Renders a conformance HTML report in headless Chromium and saves a PNG, so a
# person can check the page reads well without a browser at hand.
#
#   scripts/screenshot-report.sh out/conform.html [out/conform.png]
#
# Uses Debian's `chromium` package (installed with apt-get when missing and
# running as root). The page is self-contained, so Chromium is kept offline.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 REPORT.html [OUT.png]" >&2
    exit 2
fi
report=$1
out=${2:-${report%.html}.png}
if [[ ! -f $report ]]; then
    echo "error: $report is not a file; write one with: proton-vcr conform --report html=$report" >&2
    exit 2
fi

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing chromium (Debian package) ..." >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null
        browser=$(command -v chromium)
    else
        echo "error: no chromium found; install it (sudo apt-get install chromium) and run again" >&2
        exit 2
    fi
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$profile" --screenshot="$out_abs" --window-size=1280,1600 \
    "$url" >/dev/null 2>&1

if [[ ! -s $out_abs ]]; then
    echo "error: chromium wrote no screenshot to $out_abs" >&2
    exit 1
fi
echo "$out_abs"
