#!/usr/bin/env bash
# The README's "Two terminals" walkthrough, typed as a newcomer types it:
# every command through `npx shoal`, right after the one `npm install`.
# Two daemons (alice, bob) on loopback, alice shares a file, bob fetches it
# by ticket, `shoal cat` on bob gives the same bytes. .ci/run runs this so
# that the README cannot drift from what works.
set -euo pipefail
cd "$(dirname "$0")/.."

walk=$(mktemp -d "${TMPDIR:-/tmp}/shoal-walk.XXXXXX")
pids=()
cleanup() {
  for repo in "$walk/alice" "$walk/bob"; do
    [ -S "$repo/shoal.sock" ] && npx shoal stop --repo "$repo" >/dev/null 2>&1 || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$walk"
}
trap cleanup EXIT

say() { printf '\n$ %s\n' "$*"; }

# Start a daemon in the background and wait for its ready lines (read from a
# pipe as it prints them: no polling, no sleeps).
start_daemon() {
  local name=$1
  local repo="$walk/$name"
  say "npx shoal config set listen /ip4/127.0.0.1/tcp/0 --repo $repo"
  npx shoal config set listen /ip4/127.0.0.1/tcp/0 --repo "$repo"
  say "npx shoal daemon --repo $repo"
  mkfifo "$walk/$name.out"
  npx shoal daemon --repo "$repo" --no-mdns >"$walk/$name.out" 2>"$walk/$name.err" &
  pids+=($!)
  # keep the pipe open for the daemon's later lines
  exec {fd}<"$walk/$name.out"
  local line
  while IFS= read -r -t 60 line <&"$fd"; do
    printf '%s\n' "$line"
    case "$line" in *"other nodes connect with"*) return 0 ;; esac
  done
  echo "walkthrough: $name did not become ready:" >&2
  cat "$walk/$name.err" >&2
  return 1
}

say "npx shoal --help"
npx shoal --help | head -5

start_daemon alice
start_daemon bob

head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$walk/video.mp4"
say "npx shoal share $walk/video.mp4 --repo $walk/alice"
npx shoal share "$walk/video.mp4" --repo "$walk/alice" | tee "$walk/share.txt"
ticket=$(sed -n 's/^ticket: *//p' "$walk/share.txt")
cid=$(sed -n 's/^content id: *//p' "$walk/share.txt")
[ -n "$ticket" ] && [ -n "$cid" ] || { echo "walkthrough: share printed no ticket or content id" >&2; exit 1; }

say "npx shoal fetch ${ticket:0:40}... --repo $walk/bob -o $walk/Downloads/"
npx shoal fetch "$ticket" --repo "$walk/bob" -o "$walk/Downloads/"
cmp "$walk/Downloads/video.mp4" "$walk/video.mp4"

say "npx shoal cat $cid --repo $walk/bob | cmp - $walk/video.mp4 && echo identical"
npx shoal cat "$cid" --repo "$walk/bob" | cmp - "$walk/video.mp4" && echo identical

say "npx shoal status --repo $walk/bob"
npx shoal status --repo "$walk/bob" | head -3
echo
echo "README walkthrough: ok"
