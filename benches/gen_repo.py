#!/usr/bin/env python3
"""Writes a git fast-import stream: one commit with N synthetic credential files under auths/
(plus ordinary files). Used by benches/scan.sh and benches/prune.sh. No value looks like a real
token: every token is "FAKE-" plus random hex.

    python3 benches/gen_repo.py N [DEAD] | git fast-import
"""
import json, random, sys, time

n = int(sys.argv[1])
# With a second argument D, the first D files are dead (expired, no refresh token) and named
# auths/dead-<i>.json, the rest alive: what benches/prune.sh removes.
dead = int(sys.argv[2]) if len(sys.argv) > 2 else None
rng = random.Random(20240601)          # fixed seed: the same repository every run
out = sys.stdout.buffer
DATE = 1735689600                      # 2025-01-01T00:00:00Z, committer date

def hexstr(k):
    return "%0*x" % (k, rng.getrandbits(4 * k))

def token(lo, hi):
    return "FAKE-" + hexstr(rng.randint(lo, hi))

def ts(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))

def expiry():
    r = rng.random()
    if r < 0.35:                        # expired some time in 2024
        return ts(1704067200 + rng.randint(0, 360 * 86400))
    if r < 0.40:                        # expired long ago
        return ts(1600000000 + rng.randint(0, 86400 * 300))
    return ts(4070908800 + rng.randint(0, 360 * 86400))   # 2099

TYPES = ["codex", "claude", "antigravity", "kimi", "xai"]

def credential(i):
    ty = TYPES[i % len(TYPES)]
    if dead is not None:
        d = {"type": ty, "email": f"{ty}-{i}@example.com", "access_token": token(250, 450)}
        if i < dead:
            d["expired"] = ts(1600000000 + i)
        else:
            d["refresh_token"] = token(120, 300)
            d["expired"] = ts(4070908800 + i)
        return ty, json.dumps(d, indent=2).encode()
    email = f"{ty}-{i}@example.com"
    last = ts(1704067200 + rng.randint(0, 360 * 86400))
    d = {"type": ty}
    if ty != "kimi":
        d["email"] = email
    d["access_token"] = token(250, 450)
    if rng.random() > 0.03:            # ~3% carry no refresh token
        d["refresh_token"] = token(120, 300)
    d["expired"] = expiry()
    d["last_refresh"] = last
    d["disabled"] = rng.random() < 0.05
    if ty == "codex":
        d["account_id"] = "acct-" + hexstr(8) + "-" + hexstr(4) + "-" + hexstr(12)
    elif ty == "claude":
        d["account_uuid"] = "-".join(hexstr(k) for k in (8, 4, 4, 4, 12))
    elif ty == "antigravity":
        d["project_id"] = "proj-" + hexstr(10)
        d["expires_in"] = 3599
        d["timestamp"] = 1704067200000 + rng.randint(0, 360 * 86400) * 1000
    elif ty == "kimi":
        d["device_id"] = hexstr(32)
    elif ty == "xai":
        d["sub"] = hexstr(24)
        d["base_url"] = "https://api.example.invalid/v1"
        d["token_endpoint"] = "https://auth.example.invalid/oauth2/token"
    body = json.dumps(d, indent=2).encode()
    if rng.random() < 0.01:            # ~1% invalid JSON: truncated mid-file
        body = body[: len(body) // 2]
    return ty, body

w = out.write
w(b"commit refs/heads/main\n")
w(b"committer Bench <bench@example.com> %d +0000\n" % DATE)
msg = b"benchmark fixture\n"
w(b"data %d\n%s\n" % (len(msg), msg))
for i in range(n):
    ty, body = credential(i)
    name = b"dead-%d" % i if dead is not None and i < dead else b"%s-%d@example.com" % (ty.encode(), i)
    w(b"M 100644 inline auths/%s.json\ndata %d\n" % (name, len(body)))
    w(body)
    w(b"\n")
for j in range(50):                    # ordinary, non-credential files
    body = ("line %d of an ordinary file\n" % j * (1 + j % 7)).encode()
    path = b"src/file-%02d.txt" % j if j < 40 else b"docs/page-%d.md" % j
    w(b"M 100644 inline %s\ndata %d\n" % (path, len(body)))
    w(body)
    w(b"\n")
w(b"\n")
