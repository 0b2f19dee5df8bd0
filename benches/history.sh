#!/usr/bin/env bash
# History benchmark (issue #15 item 1): `git credman history --offline` on a repository of
# COMMITS commits over a pool of about LIVE credential files, where every commit removes 3 files,
# rewrites 7 (a new token at the same path, as CPA's refresh does) and adds 3: about 10 blobs per
# commit, ~100,000 in all, end up in the history only. Compared with git's own floor for the same
# answer, in the same run:
#
#     git log --raw --no-abbrev --no-renames --format= -- auths    (the blobs each commit removed
#       | (old side) minus HEAD's blobs, sorted, deduplicated         or replaced)
#       | git cat-file --batch >/dev/null                            (each read once)
#
#   bash benches/history.sh [COMMITS] [LIVE]   (defaults 10000 5000; RUNS=3; BENCH_REPO=DIR keeps
#                                               the generated repository for reruns; REPACK=0
#                                               keeps fast-import's pack)
#
# The history reads every blob it reports through the scan pipeline (JSON parse, verdict,
# fingerprint, dedupe) and renders a report; the floor only inflates the blobs. Both run after a
# warm-up (page cache hot), interleaved; medians of RUNS. Prints the seconds of each, the walk's
# share of the history run (its `walked history` log line), the ratio, and PASS when the ratio
# is at most MAX_RATIO (default 1.0).
set -euo pipefail
COMMITS="${1:-10000}"
LIVE="${2:-5000}"
RUNS="${RUNS:-3}"
MAX_RATIO="${MAX_RATIO:-1.00}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked --quiet --bin git-credman
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$(pwd)/$target_dir"
bin="$target_dir/release/git-credman"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/credman-history.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES \
    GIT_CEILING_DIRECTORIES GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT NO_COLOR
while read -r v; do unset "$v"; done < <(compgen -v GIT_CREDMAN_ || true)
repo="${BENCH_REPO:-$tmp/repo}"
if [[ ! -d "$repo/.git" ]]; then
    echo "generating $COMMITS commits over $LIVE live files in $repo ..." >&2
    git init -q -b main "$repo"
    python3 benches/gen_repo.py --history "$COMMITS" "$LIVE" | git -C "$repo" fast-import --quiet
    # As in scan.sh: the object store a clone or gc would produce (slow: minutes).
    if [[ "${REPACK:-1}" != 0 ]]; then
        git -C "$repo" repack -a -d -f -q
    fi
    git -C "$repo" reset -q --hard main
fi

floor="set -o pipefail; cd '$repo' && git log --raw --no-abbrev --no-renames --format= -- auths \
 | awk '\$3 !~ /^0+\$/ {print \$3}' | sort -u > '$tmp/old' \
 && git ls-tree -r --object-only HEAD | sort -u > '$tmp/head' \
 && comm -23 '$tmp/old' '$tmp/head' | tee '$tmp/floor-blobs' | git cat-file --batch >/dev/null"

python3 - "$RUNS" "$floor" "$bin" "$repo" "$tmp" "$MAX_RATIO" <<'PY'
import json, re, statistics, subprocess, sys, time
runs, floor, binary, repo, tmp, max_ratio = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
history = [binary, "-C", repo, "-v", "history", "--offline", "--format", "json"]

def timed(cmd, ok=(0,)):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=isinstance(cmd, str), executable="/bin/bash" if isinstance(cmd, str) else None,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode not in ok:
        sys.exit(f"failed ({p.returncode}): {cmd}\n{p.stderr.decode(errors='replace')}")
    return dt, p

timed(floor)
_, p = timed(history, (0, 1))
report = json.loads(p.stdout)
blobs = sum(1 for _ in open(f"{tmp}/floor-blobs"))
if report["summary"]["blobs"] != blobs:
    sys.exit(f"history read {report['summary']['blobs']} blobs, git's floor {blobs}")
tf, th, walk = [], [], []
for _ in range(runs):
    tf.append(timed(floor)[0])
    dt, p = timed(history, (0, 1))
    th.append(dt)
    m = re.search(rb"walked history.*?elapsed_ms\D*(\d+)", p.stderr)
    if m:
        walk.append(int(m.group(1)) / 1000)
f, h = statistics.median(tf), statistics.median(th)
s = report["summary"]
print(f"commits: {s['commits']}, historic blobs: {s['blobs']}, credentials: {s['credentials']}, "
      f"live in history: {s['exposed']} (median of {runs})")
print(f"git floor (log --raw -- auths | cat-file --batch): {f:.3f} s")
walked = f", of which the walk {statistics.median(walk):.3f} s" if walk else ""
print(f"git credman history --offline: {h:.3f} s{walked}")
print(f"ratio: {h / f:.2f} (limit {max_ratio:.2f})")
print("PASS" if h / f <= max_ratio else "FAIL")
sys.exit(0 if h / f <= max_ratio else 1)
PY
