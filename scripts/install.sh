#!/usr/bin/env bash
# Installs what Centralino needs on a fresh Debian 12 machine (run as root):
# Debian packages when missing, then a .venv with the project and its Python dependencies.
# Usage: scripts/install.sh [run|test]   ("test" adds the test tools and Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

# kamailio-presence-modules: busy-lamp fields (presence, presence_dialoginfo, pua_dialoginfo).
debs=(kamailio kamailio-sqlite-modules kamailio-postgres-modules kamailio-presence-modules
      espeak-ng sox libsox-fmt-all libspeexdsp-dev portaudio19-dev alsa-utils libhidapi-dev)
if [ "$profile" = test ]; then
    # fail2ban: the suite runs fail2ban-regex on the edge's security log with our filter.
    # libc++1: TEN VAD's library (bench/vad.py) links against LLVM's C++ runtime.
    # jackd2: the headset's tests run on a clocked JACK dummy sound card.
    debs+=(chromium libspandsp-dev baresip postgresql pocketsphinx-testdata fail2ban libc++1 jackd2)
fi
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Debian starts a package's service from its postinst. The stock kamailio.service runs
# /etc/kamailio/kamailio.cfg, which relays for anyone on port 5060: it must never start. While
# apt-get runs, a policy-rc.d that answers 101 ("action forbidden") keeps every service down;
# whatever policy-rc.d the machine had (containers ship one) is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved_policy=""
forbid_service_starts() {
    if [ -e "$policy" ]; then
        saved_policy="$(mktemp)"
        cp -p "$policy" "$saved_policy"
    fi
    printf '#!/bin/sh\n# scripts/install.sh (Centralino): no service starts during apt-get install\nexit 101\n' \
        > "$policy"
    chmod 755 "$policy"
    trap allow_service_starts EXIT
}
allow_service_starts() {
    if [ -n "$saved_policy" ]; then
        mv "$saved_policy" "$policy"
    else
        rm -f "$policy"
    fi
    saved_policy=""
    trap - EXIT
}
# Stop and disable a Debian service of a package we need but never run that way.
disable_service() {
    local service="$1"
    if [ -d /run/systemd/system ]; then
        systemctl disable --now "$service.service" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$service" ]; then
        if "/etc/init.d/$service" status >/dev/null 2>&1; then
            "/etc/init.d/$service" stop >/dev/null 2>&1 || true
        fi
        update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
}

if [ ${#missing[@]} -gt 0 ]; then
    echo ">> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    forbid_service_starts
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    allow_service_starts
    # A test machine needs fail2ban's tools, not a fail2ban banning the developer's address.
    if [[ " ${missing[*]} " == *" fail2ban "* ]]; then
        disable_service fail2ban
    fi
fi
# Centralino runs its own Kamailio (telephony/edge.py); Debian's must stay off, every time.
disable_service kamailio

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
