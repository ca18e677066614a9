#!/usr/bin/env bash
# Installs what Centralino needs on a fresh Debian 12 machine (run as root):
# Debian packages when missing, then a .venv with the project and its Python dependencies.
# Usage: scripts/install.sh [run|test]   ("test" adds the test tools and Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

debs=(kamailio kamailio-sqlite-modules kamailio-postgres-modules espeak-ng sox libsox-fmt-all
      libspeexdsp-dev portaudio19-dev alsa-utils libhidapi-dev)
if [ "$profile" = test ]; then
    # jackd2: the headset's tests run on a clocked JACK dummy sound card
    debs+=(chromium libspandsp-dev baresip postgresql pocketsphinx-testdata jackd2)
fi
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo ">> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo ">> creating .venv"
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
extras=""
[ "$profile" = test ] && extras="[test]"
stamp=".venv/.installed-$profile-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    echo ">> pip install -e .$extras"
    .venv/bin/pip install -q --progress-bar on -e ".$extras"
    touch "$stamp"
fi
