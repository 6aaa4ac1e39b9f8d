#!/usr/bin/env bash
# Set-up on a fresh Debian machine, as root (idempotent): the Debian packages the lab, the tests
# and the cluster roles need, then `npm ci` and the build. Only the Debian and npm registries
# need to be reachable. Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/setup.sh must run as root: the lab makes network and mount namespaces" >&2
  exit 1
fi

started=$(date +%s)
step() { echo "== $* ($(($(date +%s) - started)) s)"; }

export DEBIAN_FRONTEND=noninteractive
step "apt-get install"
# The lab starts sshd inside each host itself: keep package scripts from starting the machine's
# own ssh (or any other) service while installing.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup_policy() { if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup_policy EXIT

apt-get update
apt-get install -y --no-install-recommends \
  openssh-server openssh-client iproute2 tinc zfs-fuse ansible-core iputils-ping tmux curl \
  procps psmisc kmod ca-certificates util-linux mount perl-base python3 \
  open-iscsi nfs-common iptables ansible systemd dbus docker.io busybox-static cron \
  zsh tcsh fish
# The datastore: PostgreSQL for the postgres role on lab hosts (they share this machine's /usr), and
# psycopg2 for the K3S test double, which keeps the cluster's state in it as kine does.
apt-get install -y --no-install-recommends postgresql python3-psycopg2
cleanup_policy
made_policy=

# Node 20 or newer: take Debian's when none is installed, and say so plainly when it is too old.
if ! command -v node >/dev/null 2>&1; then
  step "apt-get install nodejs"
  apt-get install -y --no-install-recommends nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js $(node -v) is too old: k3sbook needs Node 20 or newer" >&2
  exit 1
fi

# Lab hosts use overlayfs, bridges, veth pairs, tun and fuse; load the modules where they are modules.
for m in overlay bridge veth tun fuse; do modprobe "$m" 2>/dev/null || true; done

step "npm ci"
npm ci --no-audit --no-fund

step "npm run build"
npm run build

step "set-up done"

# `k3sbook` on PATH: the README's commands call it bare. A symlink to this checkout's bin (what
# `npm link` makes, without npm's global folder), so a rebuild is picked up at once.
step "k3sbook on PATH"
bindir=/usr/local/bin
ln -sfn "$(pwd)/bin/k3sbook.js" "$bindir/k3sbook"
k3sbook --version >/dev/null
