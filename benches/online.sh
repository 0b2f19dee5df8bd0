#!/usr/bin/env bash
# Online-scan benchmark (issues 3 and 13): N credentials checked against a local mock provider
# with a fixed latency (examples/mock_provider.rs: a codex wham/usage 200 as the reference
# describes it). In the same run, `wrk` (apt: wrk) drives the same mock with the same number of
# connections for WRK_SECS seconds: N / its requests per second is the floor, what a lean C
# client gets from this mock and this kernel. Prints the scan's wall time against that floor
# (limit MAX_WALL_RATIO, 1.10) and against the ideal N x latency / concurrency, CPU time (user +
# sys) per credential (limit MAX_CPU_US, 50) next to wrk's, and peak RSS (limit 150 MB).
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

python3 - "$BIN" "$MOCK" "$N" "$LAT" "$CONC" "${WRK_SECS:-5}" "${MAX_WALL_RATIO:-1.10}" "${MAX_CPU_US:-50}" <<'PY'
import json, os, re, resource, secrets, subprocess, sys, tempfile, time
binary, mock, n, lat, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
wrk_secs, max_wall, max_cpu = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
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
    # The floor first: wrk's requests per second from the same mock, same connections.
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{wrk_secs}s",
                        f"http://{addr}/backend-api/wham/usage"], capture_output=True, text=True, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", w.stdout).group(1))
    wrk_reqs = int(re.search(r"([0-9]+) requests in", w.stdout).group(1))
    wrk_cpu_us = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / wrk_reqs * 1e6
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, stdout=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
finally:
    server.kill()
    server.wait()
report = json.loads(proc.stdout)
active = report["summary"]["by_status"].get("active", 0)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
peak_mb = after.ru_maxrss / 1024
ideal = n * lat / 1000 / conc
floor = n / rps
ratio = wall / floor
cpu_us = cpu / n * 1e6
print(f"credentials: {n}  latency: {lat} ms  concurrency: {conc}  active: {active}")
print(f"wrk, same mock, {conc} connections: {rps:.0f} requests/s, {wrk_cpu_us:.1f} us CPU per request")
print(f"floor N / wrk rate: {floor:.3f} s  (ideal N*latency/concurrency: {ideal:.3f} s)")
print(f"wall: {wall:.3f} s  ratio to the floor: {ratio:.2f} (limit {max_wall:.2f}); to the ideal: {wall / ideal:.2f}")
print(f"cpu (user+sys): {cpu:.3f} s = {cpu_us:.1f} us per credential (limit {max_cpu:.0f})")
print(f"peak RSS of scan: {peak_mb:.0f} MB (limit 150)")
ok = active == n and ratio <= max_wall and cpu_us <= max_cpu and peak_mb < 150
print("PASS" if ok else "FAIL")
subprocess.run(["rm", "-rf", tmp])
sys.exit(0 if ok else 1)
PY
