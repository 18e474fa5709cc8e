#!/usr/bin/env bash
# Installs the MLOps Desktop launcher and icons for the current user, so the app shows
# up in the desktop's application menu and opens with a double click. No root needed.
#
# Usage: install.sh [--exec COMMAND] [--uninstall]
#   --exec COMMAND   what the launcher runs (default: the bundle this script sits in,
#                    else dist/mlops-desktop/mlops-desktop of this source tree, else
#                    mlops-desktop-gui from .venv/bin or the PATH)
#   --uninstall      remove the launcher and icons again
#
# Files: ~/.local/share/applications/mlops-desktop.desktop and
# ~/.local/share/icons/hicolor/{16x16,...,512x512}/apps/mlops-desktop.png and
# scalable/apps/mlops-desktop.svg (under $XDG_DATA_HOME when it is set).
set -euo pipefail

name=mlops-desktop
sizes="16 24 32 48 64 128 256 512"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor"

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

refresh_caches() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
  touch "$icons" 2>/dev/null || true
  # only refresh an icon cache that exists: a new, partial one would hide other apps' icons
  if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
  fi
}

uninstall() {
  rm -f "$apps/$name.desktop"
  for s in $sizes; do rm -f "$icons/${s}x${s}/apps/$name.png"; done
  rm -f "$icons/scalable/apps/$name.svg"
  refresh_caches
  echo "Removed the MLOps Desktop launcher and icons from $data."
}

find_exec() {
  local candidate
  for candidate in "$here/$name" "$here/../../dist/$name/$name" "$here/../../.venv/bin/$name-gui"; do
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then
      (cd "$(dirname "$candidate")" && echo "$(pwd)/$(basename "$candidate")")
      return
    fi
  done
  command -v "$name-gui" 2>/dev/null || true
}

find_icons() {
  local candidate
  for candidate in "$here/_internal/mlops_desktop/resources/icons" "$here/../../resources/icons"; do
    if [ -f "$candidate/$name.svg" ]; then
      (cd "$candidate" && pwd)
      return
    fi
  done
}

# The Exec key's quoting (Desktop Entry Specification): quote an argument holding
# reserved characters, escaping " ` $ and \ inside; then escape \ once more, as every
# string value of the file is.
exec_value() {
  local path="$1"
  if [[ "$path" =~ [[:space:]\"\'\\\>\<\~\|\&\;\$\*\?\#\(\)\`] ]]; then
    path="${path//\\/\\\\}"; path="${path//\"/\\\"}"; path="${path//\`/\\\`}"; path="${path//\$/\\\$}"
    path="\"$path\""
  fi
  printf '%s' "${path//\\/\\\\}"
}

command=""
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --exec) [ $# -ge 2 ] || { echo "--exec needs a command" >&2; exit 2; }; command="$2"; shift 2 ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "Unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi

[ -n "$command" ] || command="$(find_exec)"
if [ -z "$command" ]; then
  echo "Cannot find MLOps Desktop: build the bundle (make package), install the app" \
       "(pip install .), or name the command with --exec." >&2
  exit 2
fi
icon_dir="$(find_icons)"
if [ -z "$icon_dir" ]; then
  echo "Cannot find the app icons next to this script or in the source tree." >&2
  exit 2
fi
template="$here/$name.desktop"
[ -f "$template" ] || { echo "Cannot find $template." >&2; exit 2; }

mkdir -p "$apps"
exec_line="$(exec_value "$command")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tmp="$work/$name.desktop"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=*) printf 'Exec=%s\n' "$exec_line" ;;
    TryExec=*) printf 'TryExec=%s\n' "${command//\\/\\\\}" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$template" > "$tmp"
if command -v desktop-file-validate >/dev/null 2>&1; then
  desktop-file-validate "$tmp"
fi
chmod 644 "$tmp"
mv -f "$tmp" "$apps/$name.desktop"

for s in $sizes; do
  install -D -m 644 "$icon_dir/$name-$s.png" "$icons/${s}x${s}/apps/$name.png"
done
install -D -m 644 "$icon_dir/$name.svg" "$icons/scalable/apps/$name.svg"
refresh_caches

echo "Installed the MLOps Desktop launcher: $apps/$name.desktop"
echo "  runs: $command"
echo "  icons: $icons/{16x16,...,512x512,scalable}/apps/"
echo "It appears in the application menu (log out and in if it does not show at once)."
echo "Remove it with: $0 --uninstall"
