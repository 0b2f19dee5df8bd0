#!/usr/bin/env bash
# Prune benchmark (issue #4): remove 10,000 dead credentials from a 100,000-file tree as one
# commit, against `git update-index --force-remove --stdin` (the paths on stdin) + `git commit`
# doing the same removal (`git rm` with 10,000 pathspecs is quadratic and no fair reference).
#
#   bash benches/prune.sh [N] [DEAD]        (defaults 100000 10000; RUNS=3; BENCH_REPO=DIR keeps
#                                            the generated repository for reruns)
#
# Both sides start from a fresh copy of the same checked-out repository, page cache warm.
# `prune` also scans all N files first (it must read every credential to know which are dead);
# the scan is timed separately with `prune --dry-run`, and the removal itself is
# prune − dry-run. Limits: the removal 1.5x the baseline; end to end (issue 13) 1.2x the git floor
# (`ls-tree | cat-file --batch`, reading every file) plus the baseline; the commit message at most
# 250 bytes per removed file.
set -euo pipefail
N="${1:-100000}"
DEAD="${2:-10000}"
RUNS="${RUNS:-3}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked --quiet --bin git-credman
bin="$(pwd)/target/release/git-credman"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/credman-prune.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com
repo="${BENCH_REPO:-$tmp/repo}"
if [[ ! -d "$repo/.git" ]]; then
    echo "generating $N files ($DEAD dead) in $repo ..." >&2
    git init -q -b main "$repo"
    python3 benches/gen_repo.py "$N" "$DEAD" | git -C "$repo" fast-import --quiet
    git -C "$repo" repack -a -d -f -q
    git -C "$repo" reset -q --hard main
    sleep 1
    git -C "$repo" status --porcelain >/dev/null
fi
seq 0 $((DEAD - 1)) | sed 's|^|auths/dead-|; s|$|.json|' > "$tmp/paths"

python3 - "$RUNS" "$repo" "$tmp" "$bin" "$DEAD" <<'PY'
import shutil, statistics, subprocess, sys, time
runs, repo, tmp, binary, dead = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def fresh(name):
    dst = f"{tmp}/{name}"
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-a", repo, dst], check=True)
    subprocess.run(["git", "-C", dst, "status", "--porcelain"], check=True, stdout=subprocess.DEVNULL)
    return dst

def timed(cmd, cwd, stdin=None, ok=(0,)):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, shell=isinstance(cmd, str))
    dt = time.perf_counter() - t0
    if p.returncode not in ok:
        sys.exit(f"failed ({p.returncode}): {cmd}")
    return dt

base, prune, dry, floor = [], [], [], []
msg_bytes = 0
for i in range(runs):
    d = fresh("base")
    floor.append(timed("git ls-tree -r --object-only HEAD auths | git cat-file --batch >/dev/null", d))
    with open(f"{tmp}/paths") as paths:
        base.append(timed("git update-index --force-remove --stdin && git commit -q --no-verify -m remove", d, stdin=paths))
    d = fresh("prune")
    dry.append(timed([binary, "prune", "--offline", "--dry-run", "--no-sign"], d))
    prune.append(timed([binary, "prune", "--offline", "--no-sign"], d))
    removed = int(subprocess.run(["git", "-C", d, "show", "-s", "--format=%(trailers:key=Credman-Removed,valueonly)"],
                                 capture_output=True, text=True).stdout.strip() or 0)
    parents = subprocess.run(["git", "-C", d, "rev-list", "--count", "HEAD"], capture_output=True, text=True).stdout.strip()
    if removed != dead or parents != "2":
        sys.exit(f"prune removed {removed} files in {parents} commits, expected {dead} in one")
    msg_bytes = len(subprocess.run(["git", "-C", d, "log", "-1", "--format=%B"], capture_output=True).stdout)
b, p, s = statistics.median(base), statistics.median(prune), statistics.median(dry)
write = p - s
print(f"removed: {dead} of the tree's files in one commit (median of {runs})")
print(f"baseline (update-index --force-remove --stdin + commit): {b:.3f} s")
print(f"git credman prune --offline:  {p:.3f} s total, of which scan (--dry-run) {s:.3f} s")
print(f"removal (prune - dry-run): {write:.3f} s  ratio: {write / b:.2f} (limit 1.50)")
f = statistics.median(floor)
end = p / (f + b)
print(f"git floor (ls-tree | cat-file --batch): {f:.3f} s")
print(f"end to end: prune {p:.3f} s vs floor + baseline {f + b:.3f} s: ratio {end:.2f} (limit 1.20)")
print(f"commit message: {msg_bytes} bytes, {msg_bytes / dead:.0f} per removed file (limit 250)")
ok = write / b <= 1.5 and end <= 1.2 and msg_bytes / dead <= 250
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
