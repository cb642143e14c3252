#!/usr/bin/env python3
"""Identity benchmarks with wrk on loopback: whoami by cookie and by token, login,
registration, and a bare hello-world axum endpoint in the same run; whoami latency while
logins saturate the CPU; idle RSS of `serve --dev`.

Usage: bench/identity.py [--backend sqlite|postgres] [--duration 10] [--out BENCHMARKS.md]
Needs wrk (Debian package); builds the release binaries it measures first. Prints a Markdown
table; with --out, appends it with the machine.
"""

import argparse, json, os, platform, re, shutil, socket, subprocess, sys, tempfile, textwrap, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_dir():
    meta = subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT)
    return json.loads(meta)["target_directory"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready")


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})})
    with urllib.request.urlopen(req) as r:
        return r.status, dict(r.headers), json.loads(r.read() or b"null")


def wrk(url, duration, conns, script=None, headers=()):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "errors": int(non2xx.group(1)) if non2xx else 0}


def lua(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--bcrypt-cost", type=int, default=12)
    ap.add_argument("--out")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "gatehouse", "-p", "gatehouse-bench-hello"], cwd=ROOT, check=True)
    tdir = target_dir()
    gatehouse = os.path.join(tdir, "release", "gatehouse")
    hello_bin = os.path.join(tdir, "release", "gatehouse-bench-hello")
    tmp = tempfile.mkdtemp(prefix="gh-bench-")
    procs = []
    try:
        # Idle RSS of the all-in-one dev server.
        dev_dir = os.path.join(tmp, "dev")
        os.makedirs(dev_dir)
        env = dict(os.environ, LOG_LEVEL="warn")
        dev = subprocess.Popen([gatehouse, "serve", "--dev"], cwd=dev_dir, env=env, stderr=subprocess.DEVNULL)
        procs.append(dev)
        wait_ready("http://127.0.0.1:4433/health/ready")
        time.sleep(2)
        idle_rss = rss_kb(dev.pid)
        dev.terminate(); dev.wait()

        hello_port = free_port()
        procs.append(subprocess.Popen([hello_bin, f"127.0.0.1:{hello_port}"]))
        pub, adm = free_port(), free_port()
        if args.backend == "postgres":
            base = os.environ.get("GATEHOUSE_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres")
            name = f"gh_bench_{os.getpid()}"
            subprocess.run(["psql", base, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
            subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
            dsn = base.rsplit("/", 1)[0] + "/" + name
        else:
            dsn = f"sqlite://{tmp}/bench.db?mode=rwc"
        schema = os.path.join(ROOT, "crates/identity/tests/fixtures/identity.schema.json")
        cfg = os.path.join(tmp, "kratos.yml")
        with open(cfg, "w") as f:
            json.dump({
                "dsn": dsn,
                "serve": {"public": {"port": pub, "host": "127.0.0.1", "base_url": f"http://127.0.0.1:{pub}/"}, "admin": {"port": adm, "host": "127.0.0.1", "base_url": f"http://127.0.0.1:{adm}/"}},
                "selfservice": {"default_browser_return_url": f"http://127.0.0.1:{pub}/ui/welcome", "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}},
                "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": f"file://{schema}"}]},
                "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": args.bcrypt_cost}},
                "secrets": {"default": ["bench-secret-0123456789abcdef"]},
                "gatehouse": {"rate_limit": {"enabled": False}},
            }, f)
        procs.append(subprocess.Popen([gatehouse, "identity", "serve", "-c", cfg], env=env, stderr=subprocess.DEVNULL))
        P = f"http://127.0.0.1:{pub}"
        wait_ready(P + "/health/ready")
        # A second instance on the same database with the whoami cache off: the cost of a miss.
        with open(cfg) as f:
            nocache = json.load(f)
        pub2, adm2 = free_port(), free_port()
        nocache["serve"] = {"public": {"port": pub2, "host": "127.0.0.1", "base_url": f"http://127.0.0.1:{pub2}/"}, "admin": {"port": adm2, "host": "127.0.0.1", "base_url": f"http://127.0.0.1:{adm2}/"}}
        nocache["gatehouse"]["session_cache"] = {"capacity": 0}
        cfg2 = os.path.join(tmp, "kratos-nocache.yml")
        with open(cfg2, "w") as f:
            json.dump(nocache, f)
        procs.append(subprocess.Popen([gatehouse, "identity", "serve", "-c", cfg2], env=env, stderr=subprocess.DEVNULL))
        P2 = f"http://127.0.0.1:{pub2}"
        wait_ready(P2 + "/health/ready")
        wait_ready(f"http://127.0.0.1:{hello_port}/")

        _, _, flow = http("GET", P + "/self-service/registration/api")
        _, _, reg = http("POST", flow["ui"]["action"], {"method": "password", "password": "bench password 123", "traits": {"email": "bench@example.org", "user_type": "educator"}})
        token = reg["session_token"]
        # A browser session for the cookie variant.
        _, _, flow = http("GET", P + "/self-service/login/api")
        _, _, login = http("POST", flow["ui"]["action"], {"method": "password", "identifier": "bench@example.org", "password": "bench password 123"})
        cookie_token = login["session_token"]
        _, _, login_flow = http("GET", P + "/self-service/login/api")
        _, _, reg_flow = http("GET", P + "/self-service/registration/api")

        login_lua = lua(tmp, "login.lua", f"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = '{json.dumps({"method": "password", "identifier": "bench@example.org", "password": "bench password 123"})}'
        """)
        reg_lua = lua(tmp, "reg.lua", """
            -- Globals, not locals: setup() runs in the main Lua state and thread:set() writes
            -- a global of each thread's own state, which a local would shadow.
            counter = 0
            tid = 0
            function setup(thread) tid = tid + 1; thread:set("tid", tid) end
            function request()
              counter = counter + 1
              local body = '{"method":"password","password":"bench password 123","traits":{"email":"u' .. tid .. '-' .. counter .. '-' .. math.random(1, 1e9) .. '@example.org","user_type":"student"}}'
              return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
            end
        """)
        d = args.duration
        rows = []
        rows.append(("hello world (bare axum)", wrk(f"http://127.0.0.1:{hello_port}/", d, 32)))
        rows.append(("whoami, X-Session-Token", wrk(P + "/sessions/whoami", d, 32, headers=[f"X-Session-Token: {token}"])))
        rows.append(("whoami, session cookie", wrk(P + "/sessions/whoami", d, 32, headers=[f"Cookie: ory_kratos_session={cookie_token}"])))
        rows.append(("whoami, token, cache off (every request reads the database)", wrk(P2 + "/sessions/whoami", d, 32, headers=[f"X-Session-Token: {token}"])))
        rows.append((f"login (bcrypt cost {args.bcrypt_cost})", wrk(login_flow["ui"]["action"], d, 8, script=login_lua)))
        rows.append((f"registration (bcrypt cost {args.bcrypt_cost})", wrk(reg_flow["ui"]["action"], d, 8, script=reg_lua)))
        # whoami latency while logins saturate both cores.
        bg = subprocess.Popen(["wrk", "-t2", "-c16", f"-d{d + 4}s", "-s", login_lua, login_flow["ui"]["action"]], stdout=subprocess.DEVNULL)
        time.sleep(2)
        rows.append(("whoami during login saturation", wrk(P + "/sessions/whoami", d, 4, headers=[f"X-Session-Token: {token}"])))
        bg.wait()
        hello_rps = rows[0][1]["rps"]
        lines = [
            f"### Identity, {args.backend}, {time.strftime('%Y-%m-%d')}",
            "",
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, {platform.platform()}; wrk -t2, {d}s per row, loopback.",
            "",
            "| endpoint | req/s | ratio to hello | p50 | p99 | non-2xx |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in rows:
            lines.append(f"| {name} | {r['rps']:.0f} | {r['rps'] / hello_rps:.2f} | {r['p50']} | {r['p99']} | {r['errors']} |")
        lines += ["", f"Idle RSS of `gatehouse serve --dev`: {idle_rss / 1024:.1f} MiB", ""]
        report = "\n".join(lines)
        print(report)
        if args.out:
            with open(args.out, "a") as f:
                f.write(report + "\n")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
