#!/usr/bin/env bash
# Benchmark: `git credman scan --offline` on a repository with N tracked credential files.
#
# Usage: bash benches/scan.sh [N]        (N defaults to 100000; RUNS=3 timed runs each;
#                                         REPACK=0 keeps the raw fast-import pack)
#
# Requirement checked: an offline scan of a repo with 100,000 tracked credential files takes
# at most 1.5x the time of
#
#     git ls-tree -r --object-only HEAD auths | git cat-file --batch >/dev/null
#
# on the same repo, and its peak memory (RSS) stays under 300 MB.
#
# Why that baseline is fair: it is the least work any tool must do to scan the committed
# credentials with git itself -- resolve HEAD, walk the tree under auths/, and inflate every
# blob out of the object database, writing the bytes to a pipe. The scan does the same
# reading plus parsing each file as JSON, deciding its verdict and rendering a report, so the
# ratio measures git-credman's own overhead on top of plain object access. Both commands run
# on the same freshly generated repository, with the same scrubbed git environment, after a
# warm-up run each (page cache hot), interleaved, and the median of RUNS wall times is used.
#
# The repository is generated with `git fast-import` (one commit: N credential files under
# auths/ plus ~50 ordinary files), repacked with `git repack -a -d -f` (fast-import's pack
# has artificial delta chains; set REPACK=0 to keep them), and checked out, so the object
# store, index and working tree look like a real clone's. The credential contents are
# synthetic and vary per file (codex, claude, antigravity, kimi, xai; some expired, some
# disabled, some without refresh token, ~1% invalid JSON). No token looks like a real one:
# every token is "FAKE-" plus random hex.
#
# Prints both times, the ratio and the peak RSS, then PASS, or FAIL with exit status 1.

set -euo pipefail

N="${1:-100000}"
RUNS="${RUNS:-3}"
MAX_RATIO="1.50"
MAX_RSS_MB=300

if ! [[ "$N" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash benches/scan.sh [N]   (N: number of credential files, default 100000)" >&2
    exit 2
fi
if ! [[ "$RUNS" =~ ^[1-9][0-9]*$ ]]; then
    echo "RUNS must be a positive integer" >&2
    exit 2
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

log() { printf '%s\n' "$*" >&2; }

# --- build -------------------------------------------------------------------------------------
log "building release binary ..."
cargo build --release --quiet
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
bin="$target_dir/release/git-credman"
[[ -x "$bin" ]] || { log "no binary at $bin"; exit 2; }

# --- scrubbed environment ----------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/credman-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
repo="${BENCH_REPO:-$tmp/repo}"   # BENCH_REPO=DIR keeps (and reuses) the generated repository

export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_CEILING_DIRECTORIES GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT NO_COLOR
while read -r v; do unset "$v"; done < <(compgen -v GIT_CREDMAN_ || true)

# --- generate the repository -------------------------------------------------------------------
if [[ -d "$repo/.git" ]]; then
    log "reusing $repo"
else
log "generating repository with $N credential files in $repo ..."
gen_start=$(date +%s.%N)
git init -q -b main "$repo"

# Writes a fast-import stream for one commit on refs/heads/main.
python3 benches/gen_repo.py "$N" | git -C "$repo" fast-import --quiet

# fast-import stores each blob as a delta against the previously imported one, unrelated or
# not, in chains up to 50 deep; no clone or gc'd repository looks like that. Repack the way
# `git gc --aggressive` would, so the object store is what git itself would produce.
# (REPACK=0 keeps the fast-import pack, a worst case for delta resolution.)
if [[ "${REPACK:-1}" != 0 ]]; then
    git -C "$repo" repack -a -d -f -q
fi
git -C "$repo" reset -q --hard main
# A real clone's index is newer than its files; refresh it after a pause so that no entry is
# "racily clean" (which would force content rechecks and make the scan look slower than it is).
sleep 1
git -C "$repo" status --porcelain >/dev/null
gen_end=$(date +%s.%N)
log "repository generated in $(awk -v a="$gen_start" -v b="$gen_end" 'BEGIN{printf "%.1f", b-a}') s ($tracked files under auths/)"
fi

tracked=$(git -C "$repo" ls-tree -r --name-only HEAD auths | wc -l)

# --- time both commands ------------------------------------------------------------------------
baseline="set -o pipefail; git -C '$repo' ls-tree -r --object-only HEAD auths | git -C '$repo' cat-file --batch >/dev/null"
scan="exec '$bin' -C '$repo' scan --offline --format json >/dev/null"

log "timing ($RUNS runs each, after one warm-up run) ..."
read -r t_base t_scan < <(python3 - "$RUNS" "$baseline" "$scan" <<'PY'
import statistics, subprocess, sys, time

runs, baseline, scan = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def run(cmd, ok):
    t0 = time.perf_counter()
    rc = subprocess.run(["bash", "-c", cmd]).returncode
    dt = time.perf_counter() - t0
    if rc not in ok:
        sys.exit(f"command failed with exit status {rc}: {cmd}")
    return dt

run(baseline, {0}); run(scan, {0, 1})          # warm-up: page cache hot for both
tb, ts = [], []
for _ in range(runs):                           # interleaved, so drift hits both alike
    tb.append(run(baseline, {0}))
    ts.append(run(scan, {0, 1}))
print(f"{statistics.median(tb):.6f} {statistics.median(ts):.6f}")
PY
)
[[ -n "${t_scan:-}" ]] || { log "timing failed"; exit 2; }

# --- peak memory of the scan -------------------------------------------------------------------
# Peak RSS in KiB: GNU time if installed, else getrusage of a child in python.
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
    rc=0
    /usr/bin/time -f %M -o "$tmp/rss" "$bin" -C "$repo" scan --offline --format json >/dev/null || rc=$?
    (( rc == 0 || rc == 1 )) || { log "scan failed with exit status $rc"; exit 2; }
    rss_kb=$(tail -n 1 "$tmp/rss")         # GNU time prepends "Command exited with ..." on rc 1
else
    rss_kb=$(python3 - "$bin" "$repo" <<'PY'
import resource, subprocess, sys
rc = subprocess.run([sys.argv[1], "-C", sys.argv[2], "scan", "--offline", "--format", "json"],
                    stdout=subprocess.DEVNULL).returncode
if rc not in (0, 1):
    sys.exit(f"scan failed with exit status {rc}")
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)   # KiB on Linux
PY
)
fi

# --- report ------------------------------------------------------------------------------------
awk -v n="$tracked" -v runs="$RUNS" -v tb="$t_base" -v ts="$t_scan" -v kb="$rss_kb" \
    -v maxr="$MAX_RATIO" -v maxmb="$MAX_RSS_MB" '
BEGIN {
    ratio = ts / tb
    mb = kb / 1024
    printf "files: %d\n", n
    printf "baseline (ls-tree | cat-file --batch): %.3f s (median of %d)\n", tb, runs
    printf "git credman scan --offline:            %.3f s (median of %d)\n", ts, runs
    printf "ratio: %.2f (limit %.2f)\n", ratio, maxr
    printf "peak RSS of scan: %.0f MB (limit %d MB)\n", mb, maxmb
    fail = 0
    if (ratio > maxr + 0) { print "FAIL: scan is slower than " maxr "x the baseline"; fail = 1 }
    if (mb > maxmb + 0)   { print "FAIL: peak RSS above " maxmb " MB"; fail = 1 }
    if (!fail) print "PASS"
    exit fail
}'
