#!/usr/bin/env python3
"""Writes a git fast-import stream: one commit with N credential files under auths/, shaped as
CLIProxyAPI writes them (reference §2: codex with JWT id and access tokens, claude, antigravity,
kimi, xai), plus ordinary files. Used by benches/scan.sh and benches/prune.sh. With `--history`,
a history of C commits over about L live files instead (benches/history.sh). Tokens are random
and never valid; their prefixes are joined at run time, so no committed line looks like a token.

    python3 benches/gen_repo.py N [DEAD] | git fast-import
    python3 benches/gen_repo.py --history C L | git fast-import
"""
import base64, json, random, sys, time

# `--history C L`: a history of C commits over a pool of about L live files (benches/history.sh).
history = sys.argv[1] == "--history"
args = sys.argv[2:] if history else sys.argv[1:]
n = int(args[0])
# With a second argument D, the first D files are dead (expired, no refresh token) and named
# auths/dead-<i>.json, the rest alive: what benches/prune.sh removes.
dead = int(args[1]) if len(args) > 1 and not history else None
live = int(args[1]) if history else 0
rng = random.Random(20240601)          # fixed seed: the same repository every run
out = sys.stdout.buffer
DATE = 1735689600                      # 2025-01-01T00:00:00Z, committer date

def hexstr(k):
    return "%0*x" % (k, rng.getrandbits(4 * k))

def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

def noise(k):
    """k characters of base64url noise (a signature, an opaque token body)."""
    return b64(rng.getrandbits(8 * k).to_bytes(k, "big"))[:k]

def uuid():
    return "-".join(hexstr(k) for k in (8, 4, 4, 4, 12))

def ts(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))

def jwt(claims, sig=342):
    """A JWT-shaped string with real claims and a random (never valid) RS256-sized signature."""
    head = b64(json.dumps({"alg": "RS256", "kid": hexstr(8), "typ": "JWT"}).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{body}.{noise(sig)}"

# Token prefixes are joined at run time so that no committed line looks like a real token.
SK, OAT, ORT, YA, GRT = "sk-", "ant-oat01-", "ant-ort01-", "ya" + "29.", "1" + "//0"

def expiry_epoch():
    r = rng.random()
    if r < 0.35:                        # expired some time in 2024
        return 1704067200 + rng.randint(0, 360 * 86400)
    if r < 0.40:                        # expired long ago
        return 1600000000 + rng.randint(0, 86400 * 300)
    return 4070908800 + rng.randint(0, 360 * 86400)   # 2099

TYPES = ["codex", "claude", "antigravity", "kimi", "xai"]

def codex(i, email, exp, refresh):
    acct = uuid()
    auth = {"chatgpt_account_id": acct, "chatgpt_plan_type": rng.choice(["plus", "pro", "team"]),
            "chatgpt_user_id": "user-" + noise(24),
            "chatgpt_subscription_active_start": ts(exp - 30 * 86400),
            "chatgpt_subscription_active_until": ts(exp + 30 * 86400),
            "organizations": [{"id": "org-" + noise(24), "is_default": True, "role": "owner",
                               "title": "Personal"}]}
    idt = jwt({"aud": ["app_" + noise(24)], "auth_time": exp - 864000, "email": email,
               "email_verified": True, "exp": exp, "https://api.openai.com/auth": auth,
               "iat": exp - 864000, "iss": "https://auth.openai.com", "sub": "auth0|" + noise(24)})
    at = jwt({"aud": ["https://api.openai.com/v1"], "client_id": "app_" + noise(24), "exp": exp,
              "https://api.openai.com/auth": {"chatgpt_account_id": acct,
                                              "chatgpt_plan_type": auth["chatgpt_plan_type"],
                                              "user_id": auth["chatgpt_user_id"]},
              "https://api.openai.com/profile": {"email": email, "email_verified": True},
              "iat": exp - 864000, "iss": "https://auth.openai.com", "jti": uuid(),
              "nbf": exp - 864000, "pwd_auth_time": (exp - 864000) * 1000,
              "scp": ["openid", "email", "profile", "offline_access"],
              "session_id": "authsess_" + noise(24), "sub": "auth0|" + noise(24)})
    d = {"type": "codex", "email": email, "account_id": acct, "id_token": idt, "access_token": at}
    if refresh:
        d["refresh_token"] = "rt_" + noise(43) + "." + noise(43)
    d.update({"expired": ts(exp), "last_refresh": ts(exp - 864000), "disabled": False})
    return d

def claude(i, email, exp, refresh):
    d = {"type": "claude", "email": email, "access_token": SK + OAT + noise(95) + "-" + noise(6) + "AA"}
    if refresh:
        d["refresh_token"] = SK + ORT + noise(95) + "-" + noise(6) + "AA"
    d.update({"id_token": "", "account_uuid": uuid(), "organization_uuid": uuid(),
              "organization_name": f"user{i}'s Organization",
              "claude_device_ids": [hexstr(64) for _ in range(3)],
              "expired": ts(exp), "last_refresh": ts(exp - 28800), "disabled": False})
    return d

def antigravity(i, email, exp, refresh):
    d = {"type": "antigravity", "email": email, "project_id": f"able-river-{hexstr(5)}",
         "access_token": YA + noise(200)}
    if refresh:
        d["refresh_token"] = GRT + noise(100)
    d.update({"expires_in": 3599, "timestamp": (exp - 3599) * 1000, "expired": ts(exp),
              "disabled": False})
    return d

def kimi(i, email, exp, refresh):
    at = jwt({"exp": exp, "iat": exp - 3600, "sub": uuid(), "scope": "kimi-code",
              "device_id": hexstr(32), "jti": uuid()}, sig=86)
    d = {"type": "kimi", "access_token": at}
    if refresh:
        d["refresh_token"] = jwt({"exp": exp + 30 * 86400, "sub": uuid(), "typ": "refresh"}, sig=86)
    d.update({"token_type": "Bearer", "scope": "kimi-code", "device_id": hexstr(32),
              "expired": ts(exp), "timestamp": (exp - 3600) * 1000, "last_refresh": ts(exp - 3600)})
    return d

def xai(i, email, exp, refresh):
    sub = uuid()
    d = {"type": "xai", "auth_kind": "oauth", "email": email, "sub": sub,
         "access_token": jwt({"aud": "grok-cli", "exp": exp, "iat": exp - 3600, "sub": sub,
                              "scope": "openid profile email offline_access api"})}
    if refresh:
        d["refresh_token"] = noise(64)
    d.update({"id_token": jwt({"aud": "grok-cli", "email": email, "exp": exp, "sub": sub}),
              "token_type": "Bearer", "expires_in": 3600, "expired": ts(exp),
              "last_refresh": ts(exp - 3600), "base_url": "https://api.x.ai/v1",
              "token_endpoint": "https://auth.x.ai/oauth2/token"})
    return d

MAKE = {"codex": codex, "claude": claude, "antigravity": antigravity, "kimi": kimi, "xai": xai}

def credential(i):
    """(type, file bytes) of credential i, shaped as CPA writes it (reference §2): JWT access and id
    tokens with realistic claims, 1.5–4 KB for codex, smaller for the others."""
    ty = TYPES[i % len(TYPES)]
    email = f"{ty}-{i}@example.com"
    if dead is not None:
        is_dead = i < dead
        exp = 1600000000 + i if is_dead else 4070908800 + i
        refresh = not is_dead
    else:
        exp = expiry_epoch()
        refresh = rng.random() > 0.03   # ~3% carry no refresh token
    d = MAKE[ty](i, email, exp, refresh)
    if dead is None and rng.random() < 0.05:
        d["disabled"] = True
    body = json.dumps(d, indent=2).encode()    # CPA writes indented JSON
    if dead is None and rng.random() < 0.01:   # ~1% invalid JSON: truncated mid-file
        body = body[: len(body) // 2]
    return ty, body

w = out.write

def file_name(i):
    ty = TYPES[i % len(TYPES)]
    return b"dead-%d" % i if dead is not None and i < dead else b"%s-%d@example.com" % (ty.encode(), i)

def put(path, body):
    w(b"M 100644 inline %s\ndata %d\n" % (path, len(body)))
    w(body)
    w(b"\n")

def ordinary_files():
    for j in range(50):                    # ordinary, non-credential files
        body = ("line %d of an ordinary file\n" % j * (1 + j % 7)).encode()
        put(b"src/file-%02d.txt" % j if j < 40 else b"docs/page-%d.md" % j, body)

def one_commit():
    w(b"commit refs/heads/main\n")
    w(b"committer Bench <bench@example.com> %d +0000\n" % DATE)
    msg = b"benchmark fixture\n"
    w(b"data %d\n%s\n" % (len(msg), msg))
    for i in range(n):
        _, body = credential(i)
        put(b"auths/" + file_name(i) + b".json", body)
    ordinary_files()
    w(b"\n")

def history_commits():
    """n commits: the first adds `live` files, each later one removes 3 files, rewrites 7 (CPA's
    token refresh: same path, new blob) and adds 3, so each leaves 10 blobs to history only;
    every 50th commit also edits an ordinary file (a commit that does not touch auths/)."""
    pool, next_id, marks = [], 0, 0
    for c in range(n):
        w(b"commit refs/heads/main\n")
        w(b"author Bench <bench@example.com> %d +0000\n" % (DATE + c * 600))
        w(b"committer Bench <bench@example.com> %d +0000\n" % (DATE + c * 600))
        msg = b"change %d\n" % c
        w(b"data %d\n%s" % (len(msg), msg))
        if c == 0:
            for _ in range(live):
                pool.append(next_id)
                _, body = credential(next_id)
                put(b"auths/" + file_name(next_id) + b".json", body)
                next_id += 1
            ordinary_files()
        elif c % 50 == 0:
            put(b"src/file-%02d.txt" % (c % 40), b"revision %d\n" % c)
        else:
            for _ in range(3):
                i = pool.pop(rng.randrange(len(pool)))
                w(b"D auths/%s.json\n" % file_name(i))
            for k in rng.sample(range(len(pool)), 7):
                _, body = credential(pool[k])
                put(b"auths/" + file_name(pool[k]) + b".json", body)
            for _ in range(3):
                pool.append(next_id)
                _, body = credential(next_id)
                put(b"auths/" + file_name(next_id) + b".json", body)
                next_id += 1
        w(b"\n")

if history:
    history_commits()
else:
    one_commit()
