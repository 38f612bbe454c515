#!/usr/bin/env bash
# Install the Debian packages the registry needs, only those missing.
#   libharfbuzz-subset0  WeasyPrint's fast CJK font subsetting (~50x faster than its fallback)
#   fonts-noto-cjk       CJK glyphs for the browser tests and screenshots
#   chromium             Playwright's browser (Debian's build; no browser download)
#   poppler-utils        pdftoppm/pdftotext to look at and check PDFs
#   postgresql           the production database, used by the test suite
set -euo pipefail
pkgs=(libharfbuzz-subset0 fonts-noto-cjk chromium poppler-utils postgresql libpango-1.0-0 libpangoft2-1.0-0)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
