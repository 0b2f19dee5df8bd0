#!/usr/bin/env bash
# Online-scan benchmark (issue #3): N credentials checked against a local mock provider with a
# fixed latency. Prints wall time against the ideal N x latency / concurrency, CPU time (user +
# sys) per credential, and peak RSS of the scan. Limits: wall <= 1.25x ideal, CPU < 100 us per
# credential, peak RSS < 150 MB. Loopback only; nothing leaves the machine.
#
#   bash benches/online.sh [N] [LATENCY_MS] [CONCURRENCY]     (defaults 10000 50 256)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
LAT=${2:-50}
CONC=${3:-256}

cargo build --release --quiet --bin git-credman --example mock_provider
BIN=target/release/git-credman
MOCK=target/release/examples/mock_provider

python3 - "$BIN" "$MOCK" "$N" "$LAT" "$CONC" <<'PY'
import json, os, resource, secrets, subprocess, sys, tempfile, time
binary, mock, n, lat, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
ratio = wall / ideal
cpu_us = cpu / n * 1e6
print(f"credentials: {n}  latency: {lat} ms  concurrency: {conc}  active: {active}")
print(f"ideal N*latency/concurrency: {ideal:.3f} s")
print(f"wall: {wall:.3f} s  ratio: {ratio:.2f} (limit 1.25)")
print(f"cpu (user+sys): {cpu:.3f} s = {cpu_us:.1f} us per credential (limit 100)")
print(f"peak RSS of scan: {peak_mb:.0f} MB (limit 150)")
ok = active == n and ratio <= 1.25 and cpu_us < 100 and peak_mb < 150
print("PASS" if ok else "FAIL")
subprocess.run(["rm", "-rf", tmp])
sys.exit(0 if ok else 1)
PY
