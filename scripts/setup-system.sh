#!/usr/bin/env bash
# Installs, from Debian, the real peers the tests and the demo use, when they are missing.
# Idempotent: does nothing when everything is present. Needs root to install; otherwise it
# prints what is missing and how to get it, and exits 0 so that pure Node tests still run
# (tests that need a missing peer fail with a message naming it).
set -euo pipefail

# package -> a file it installs, to test presence cheaply
declare -A probe=(
  [pebble]=/usr/bin/pebble
  [thunderbird]=/usr/bin/thunderbird
  [dovecot-imapd]=/usr/lib/dovecot/imap
  [dovecot-lmtpd]=/usr/lib/dovecot/lmtp
  [libnss3-tools]=/usr/bin/certutil
  [opendkim-tools]=/usr/sbin/opendkim-testmsg
  [openssl]=/usr/bin/openssl
  [xvfb]=/usr/bin/Xvfb
)

missing=()
for pkg in "${!probe[@]}"; do
  [ -e "${probe[$pkg]}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing Debian packages: ${missing[*]}" >&2
  echo "setup-system: run as root, or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 0
fi

echo "setup-system: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packages start system services where allowed; the project runs private instances only.
for svc in dovecot; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
echo "setup-system: done" >&2
