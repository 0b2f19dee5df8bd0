#!/usr/bin/env bash
# Online-scan benchmark (issues 3 and 13): N credentials checked against a local mock provider
# with a fixed latency (examples/mock_provider.rs: a codex wham/usage 200 as the reference
# describes it). In the same run, `wrk` (apt: wrk) drives the same mock with the same number of
# connections for WRK_SECS seconds (default 3): N / its requests per second is the floor, what a
# lean C client gets from this mock and this kernel. RUNS rounds (default 5) of floor then scan;
# prints the medians: the scan's wall time against the floor (limit MAX_WALL_RATIO, 1.10) and
# against the ideal N x latency / concurrency, CPU time (user + sys, of the scan process alone)
# per credential (limit MAX_CPU_US, 50) next to wrk's (and as a multiple of it: the machine's
# speed moves both), and the highest peak RSS (limit 150 MB).
# Loopback only; nothing leaves the machine.
#
#   bash benches/online.sh [N] [LATENCY_MS] [CONCURRENCY]     (defaults 10000 50 256)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
LAT=${2:-50}
CONC=${3:-256}

command -v wrk >/dev/null || { echo "benches/online.sh needs wrk for the floor (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet --bin git-credman --example mock_provider
BIN=target/release/git-credman
MOCK=target/release/examples/mock_provider

python3 - "$BIN" "$MOCK" "$N" "$LAT" "$CONC" "${WRK_SECS:-3}" "${MAX_WALL_RATIO:-1.10}" "${MAX_CPU_US:-50}" "${RUNS:-5}" <<'PY'
import json, os, re, secrets, statistics, subprocess, sys, tempfile, time
binary, mock, n, lat, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
wrk_secs, max_wall, max_cpu, runs = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
tmp = tempfile.mkdtemp(prefix="credman-online-")
auths = os.path.join(tmp, "auths")
os.mkdir(auths)
for i in range(n):
    # Fake, non-token-shaped values; a far-future expiry so every file is probed.
    cred = {"type": "codex", "email": f"user{i}@example.com", "account_id": f"acct-{i:06d}",
            "access_token": "FAKE-" + secrets.token_hex(200), "refresh_token": "FAKE-" + secrets.token_hex(24),
            "expired": "2099-01-01T00:00:00Z", "disabled": False}
    with open(os.path.join(auths, f"codex-{i:06d}.json"), "w") as f:
        json.dump(cred, f)
server = subprocess.Popen([mock, str(lat)], stdout=subprocess.PIPE, text=True)
try:
    addr = server.stdout.readline().split()[1]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}
    args = [binary, "scan", "--dir", auths, "--format", "json", "--concurrency", str(conc),
            "--endpoint", f"https://chatgpt.com=http://{addr}"]
    # Read the files once before measuring: the first read of a file just written updates its
    # atime (relatime), a journal write per file that any first reader pays, and that a pool
    # CPA wrote long ago does not cost. The floor and the scan then both start warm.
    subprocess.run([binary, "scan", "--offline", "--dir", auths, "--format", "json"], env=env,
                   stdout=subprocess.DEVNULL, check=False)
    # RUNS rounds of the floor then the scan, so that both see the same machine (a shared
    # machine's speed drifts by tens of percent over a minute); the medians are compared.
    # Outputs go to files and are read after the last round: a child's peak RSS counts the
    # pages it had when forked from this interpreter, so the interpreter stays small meanwhile.
    def measured(cmd, out_path, env=None):
        with open(out_path, "wb") as out:
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, env=env, stdout=out)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024
    floors, wrk_cpus, walls, cpus, peaks = [], [], [], [], []
    for i in range(runs):
        wrk_out = os.path.join(tmp, f"wrk{i}.txt")
        _, w_cpu, _ = measured(["wrk", "-t1", f"-c{conc}", f"-d{wrk_secs}s",
                                f"http://{addr}/backend-api/wham/usage"], wrk_out)
        w = open(wrk_out).read()
        rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", w).group(1))
        wrk_reqs = int(re.search(r"([0-9]+) requests in", w).group(1))
        floors.append(n / rps)
        wrk_cpus.append(w_cpu / wrk_reqs * 1e6)
        wall, cpu, peak = measured(args, os.path.join(tmp, f"report{i}.json"), env)
        walls.append(wall)
        cpus.append(cpu / n * 1e6)
        peaks.append(peak)
finally:
    server.kill()
    server.wait()
for i in range(runs):
    with open(os.path.join(tmp, f"report{i}.json")) as f:
        active = json.load(f)["summary"]["by_status"].get("active", 0)
    if active != n:
        print(f"run {i + 1}: only {active} of {n} credentials are active")
        sys.exit(1)
med = statistics.median
floor, wall, cpu_us, peak_mb = med(floors), med(walls), med(cpus), max(peaks)
ideal = n * lat / 1000 / conc
ratio = wall / floor
print(f"credentials: {n}  latency: {lat} ms  concurrency: {conc}  runs: {runs} (medians)")
print(f"wrk, same mock, {conc} connections: {n / floor:.0f} requests/s, {med(wrk_cpus):.1f} us CPU per request")
print(f"floor N / wrk rate: {floor:.3f} s  (ideal N*latency/concurrency: {ideal:.3f} s)")
print(f"wall: {wall:.3f} s  ratio to the floor: {ratio:.2f} (limit {max_wall:.2f}); to the ideal: {wall / ideal:.2f}")
print(f"cpu (user+sys): {cpu_us:.1f} us per credential (limit {max_cpu:.0f}), "
      f"{cpu_us / med(wrk_cpus):.2f}x wrk's per request; each run: " + " ".join(f"{c:.1f}" for c in cpus))
print(f"peak RSS of scan: {peak_mb:.0f} MB (limit 150)")
ok = ratio <= max_wall and cpu_us <= max_cpu and peak_mb < 150
print("PASS" if ok else "FAIL")
subprocess.run(["rm", "-rf", tmp])
sys.exit(0 if ok else 1)
PY
