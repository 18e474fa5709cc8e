#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Qt needs on a bare machine, if any are missing.
# Usage: scripts/install-system-deps.sh [--xvfb]   (--xvfb: also what the tests need: Xvfb, Java,
# desktop-file-validate, PostgreSQL's server)
# As root it runs apt-get; otherwise it uses sudo when that works without a password,
# and else prints the command to run and carries on.
set -u
pkgs="libgl1 libegl1 libx11-6 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 fonts-dejavu-core"
if [ "${1:-}" = "--xvfb" ]; then
  pkgs="$pkgs xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"
  # Java for the export's Spark test (pyspark in local mode), when no java is on the PATH
  command -v java >/dev/null 2>&1 || pkgs="$pkgs default-jre-headless"
  # desktop-file-validate, for the test of the Linux launcher (packaging/linux)
  pkgs="$pkgs desktop-file-utils"
  # PostgreSQL's server, for the team-registry tests (tests/postgres_server.py starts a throwaway
  # cluster of its own; the package's default cluster is not used)
  pkgs="$pkgs postgresql"
fi
command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian-like: nothing to do here
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "Installing system packages:$missing"
if [ "$(id -u)" = "0" ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "Please run: sudo apt-get install -y$missing" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null \
  || { echo "apt-get could not install:$missing" >&2; exit 1; }
