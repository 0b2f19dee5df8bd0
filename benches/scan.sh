#!/usr/bin/env bash
# Benchmark: `git credman scan --offline` on a repository with N tracked credential files.
#
# Usage: bash benches/scan.sh [N]        (N defaults to 100000; RUNS=5 timed runs each;
#                                         REPACK=0 keeps the raw fast-import pack)
#
# Requirement checked (issue 13): an offline scan of a repo with 100,000 tracked credential files
# takes at most 1.0x (MAX_RATIO) the time of
#
#     git ls-tree -r --object-only HEAD auths | git cat-file --batch >/dev/null
#
# on the same repo, in every report format (FORMATS="text json sarif"), and its peak memory (RSS)
# stays under 150 MB (MAX_RSS_MB).
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
# shaped as CPA writes them (benches/gen_repo.py: codex with JWT id and access tokens, claude,
# antigravity, kimi, xai; some expired, some disabled, some without refresh token, ~1% invalid
# JSON). Tokens are random and never valid.
#
# Prints the times, ratios and peak RSS per format, then PASS, or FAIL with exit status 1.

set -euo pipefail

N="${1:-100000}"
RUNS="${RUNS:-5}"
MAX_RATIO="${MAX_RATIO:-1.00}"
MAX_RSS_MB="${MAX_RSS_MB:-150}"

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
cargo build --release --locked --quiet
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
log "repository generated in $(awk -v a="$gen_start" -v b="$gen_end" 'BEGIN{printf "%.1f", b-a}') s"
fi

tracked=$(git -C "$repo" ls-tree -r --name-only HEAD auths | wc -l)

# --- time the baseline and the scan in each format -------------------------------------------
baseline="set -o pipefail; git -C '$repo' ls-tree -r --object-only HEAD auths | git -C '$repo' cat-file --batch >/dev/null"
FORMATS="${FORMATS:-text json sarif}"

log "timing ($RUNS runs each, after one warm-up run, interleaved) ..."
python3 - "$RUNS" "$baseline" "$bin" "$repo" "$tracked" "$MAX_RATIO" "$MAX_RSS_MB" $FORMATS <<'PY'
import resource, statistics, subprocess, sys, time

runs, baseline, binary, repo, tracked = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
max_ratio, max_mb, formats = float(sys.argv[6]), float(sys.argv[7]), sys.argv[8:]

def run(cmd, ok):
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, shell=isinstance(cmd, str), executable="/bin/bash" if isinstance(cmd, str) else None,
                        stdout=subprocess.DEVNULL).returncode
    dt = time.perf_counter() - t0
    if rc not in ok:
        sys.exit(f"command failed with exit status {rc}: {cmd}")
    return dt

def scan(fmt):
    return [binary, "-C", repo, "scan", "--offline", "--format", fmt]

def peak_rss_mb(cmd):
    # getrusage of the children so far only grows: measure each in its own python child.
    out = subprocess.run([sys.executable, "-c",
        "import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", *cmd],
        capture_output=True, text=True, check=True).stdout
    return int(out.strip()) / 1024

run(baseline, {0})
for f in formats:
    run(scan(f), {0, 1})                       # warm-up: page cache hot for all
tb, ts = [], {f: [] for f in formats}
for _ in range(runs):                          # interleaved, so drift hits all alike
    tb.append(run(baseline, {0}))
    for f in formats:
        ts[f].append(run(scan(f), {0, 1}))
b = statistics.median(tb)
print(f"files: {tracked}")
print(f"baseline (ls-tree | cat-file --batch): {b:.3f} s (median of {runs})")
fail = False
for f in formats:
    t = statistics.median(ts[f])
    mb = peak_rss_mb(scan(f))
    ratio = t / b
    print(f"scan --offline --format {f:<6} {t:.3f} s  ratio {ratio:.2f} (limit {max_ratio:.2f})  "
          f"peak RSS {mb:.0f} MB (limit {max_mb:.0f})")
    if ratio > max_ratio or mb > max_mb:
        fail = True
print("FAIL" if fail else "PASS")
sys.exit(1 if fail else 0)
PY
