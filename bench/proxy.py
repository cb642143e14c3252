#!/usr/bin/env python3
"""Access proxy benchmark with wrk on loopback, everything measured in one run:

  direct     wrk -> hello upstream (bench/hello, a bare axum "hello, world")
  anonymous  wrk -> gatehouse proxy serve (anonymous / allow / noop) -> hello
  session    wrk -> gatehouse proxy serve (cookie_session against a real
             `gatehouse identity serve --dev`, header mutator X-User-Email from
             `{{ print .Subject }}` with subject_from identity.traits.email) -> hello
  all in one the same session rule in `gatehouse serve` (identity and proxy in one process,
             the whoami call answered in-process) -> hello
  cached     the session rule in `proxy serve` with cookie_session's opt-in
             `cache: {enabled: true, ttl: 1s}` (whoami asked about once a second) -> hello
  bare       wrk -> bench/hello's bare-proxy (gatehouse's server loop + its upstream pool,
             nothing between) -> hello:
             the floor of the HTTP stack gatehouse's proxy is built on
  nginx      wrk -> nginx proxy_pass (1 worker, keepalive to the upstream) -> hello

Throughput rows use wrk -c32; latency rows use wrk -t1 -c1 against the direct upstream, nginx,
and the anonymous rule with 10 rules loaded and with 10,000 rules loaded (distinct hosts and
paths, `https://api-N.example.org/v1/<.*>` and the like), to get the p50 latency the proxy adds.

Usage (from the repository root; builds the release binaries first):

  python3 bench/proxy.py                       # 5 interleaved rounds of 6 s per row, ~5 min
  python3 bench/proxy.py --rounds 1 --duration 5   # quicker, noisier
  python3 bench/proxy.py --out BENCHMARKS.md   # also append the Markdown section
  python3 bench/proxy.py --hold                # start and check everything, wait (for perf)

Needs wrk and nginx (Debian packages `wrk` and `nginx-light`), taskset (util-linux). With two
or more CPUs, wrk runs on CPU 0 and every server (upstream, proxies, nginx, identity) on CPU 1
(`--load-cpus`, `--server-cpus`), so each proxy competes with its upstream for the same core
and never with the load generator. Rows are interleaved by round and each figure is the median
over the rounds, so a burst of other load on the machine moves one sample, not a whole row.
The report says how much CPU time other processes took meanwhile and flags the run past 10%.
Prints the Markdown section; exits non-zero if a request failed.
"""

import argparse, json, os, platform, re, shutil, signal, socket, statistics, subprocess, tempfile, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")
ANON_HOST = "anon.example.org"
SESSION_HOST = "session.example.org"
EMAIL = "bench@example.org"


def target_dir():
    meta = subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT)
    return json.loads(meta)["target_directory"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=2):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers, r.read()


def wait_ready(url, headers=None, timeout=60):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            status, _, _ = get(url, headers)
            if status == 200:
                return
        except Exception as e:  # not listening yet
            last = e
        time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready: {last}")


def post_json(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def micros(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def fmt_us(us):
    return f"{us:.0f} µs" if us < 10_000 else f"{us / 1000:.1f} ms"


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, all threads
        except FileNotFoundError:
            pass
    return total


def machine_ticks():
    """All CPUs: time in user, nice and system mode (what processes are charged), and steal."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2], v[7]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def tree(pid):
    """A process and its children (nginx: master and worker)."""
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except FileNotFoundError:
        pass
    return out


class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = []
        ncpu = os.cpu_count() or 1
        self.pin = ncpu >= 2 and shutil.which("taskset") is not None and not args.no_pin
        self.load_cpus = args.load_cpus if self.pin else None
        self.server_cpus = args.server_cpus if self.pin else None
        self.wrk_threads = len(parse_cpus(args.load_cpus)) if self.pin else 1
        # CPU seconds that processes other than ours used during the measured runs, and
        # what the hypervisor took (steal): how much the machine was shared.
        self.other_cpu = self.steal = self.wall = 0.0

    def reset_accounting(self):
        self.other_cpu = self.steal = self.wall = 0.0

    def pinned(self, cpus, cmd):
        return (["taskset", "-c", cpus] + cmd) if cpus else cmd

    def start(self, cmd, **kw):
        p = subprocess.Popen(self.pinned(self.server_cpus, cmd), **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # nginx: the master stops its worker too
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def wrk(self, url, seconds, conns, headers=(), pids=()):
        threads = 1 if conns == 1 else self.wrk_threads
        cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency"]
        for h in headers:
            cmd += ["-H", h]
        cmd = self.pinned(self.load_cpus, cmd + [url])
        pids = [q for p in pids for q in tree(p)]
        ours = [q for p in self.procs for q in tree(p.pid)]
        before, ours_before, machine_before, kids_before = cpu_ticks(pids), cpu_ticks(ours), machine_ticks(), os.times()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        cpu = (cpu_ticks(pids) - before) / TICK
        machine, kids = machine_ticks(), os.times()
        wrk_cpu = (kids.children_user - kids_before.children_user) + (kids.children_system - kids_before.children_system)
        self.other_cpu += max(0.0, (machine[0] - machine_before[0]) / TICK - (cpu_ticks(ours) - ours_before) / TICK - wrk_cpu)
        self.steal += (machine[1] - machine_before[1]) / TICK
        self.wall += seconds
        total = int(re.search(r"(\d+) requests in", out).group(1))
        lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return {
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": micros(lat["50"]),
            "p99": micros(lat["99"]),
            "failed": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
            "cpu_per_req": cpu * 1e6 / total if total else 0.0,
        }


class Stopped(Exception):
    pass


def stopped(signum, _frame):
    raise Stopped(f"stopped by signal {signum}")


def parse_cpus(spec):
    cpus = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        cpus.update(range(int(a), int(b or a) + 1))
    return sorted(cpus)


def rule(rid, url, authenticator, mutator, upstream):
    return {
        "id": rid,
        "match": {"url": url, "methods": ["GET", "POST"]},
        "authenticators": [{"handler": authenticator}],
        "authorizer": {"handler": "allow"},
        "mutators": [mutator],
        "upstream": {"url": upstream},
    }


def rules(count, upstream):
    """The two rules the benchmark requests match, plus count-2 that they never match, in
    the shapes real rule files have: one host per API, one path prefix per service on a shared
    host, and the `<https|http>` scheme wildcard."""
    out = [
        rule("anonymous", f"http://{ANON_HOST}/<.*>", "anonymous", {"handler": "noop"}, upstream),
        rule("session", f"http://{SESSION_HOST}/<.*>", "cookie_session",
             {"handler": "header", "config": {"headers": {"X-User-Email": "{{ print .Subject }}"}}}, upstream),
    ]
    shapes = [
        "https://api-{n}.example.org/v1/<.*>",
        "https://api.example.org/svc-{n}/<.*>",
        "<https|http>://app-{n}.example.org/<(?:public|static)/.*>",
        "https://api.example.org/v2/tenants/{n}/items/<[0-9]+>",
    ]
    for n in range(count - 2):
        out.append(rule(f"filler-{n}", shapes[n % len(shapes)].format(n=n), "anonymous", {"handler": "noop"}, upstream))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=6, help="seconds per measured row (default 6)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; figures are medians (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target before measuring")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections for the throughput rows")
    ap.add_argument("--rules", type=int, default=10_000, help="rules in the large rule set (default 10000)")
    ap.add_argument("--load-cpus", default="0", help="CPUs for wrk (default 0)")
    ap.add_argument("--server-cpus", default="1", help="CPUs for every server (default 1)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    ap.add_argument("--out", help="append the Markdown section to this file")
    ap.add_argument("--hold", action="store_true",
                    help="start and check everything, print the addresses and wait for Ctrl-C (for profiling)")
    args = ap.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed: apt-get install wrk")
    nginx = next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if os.path.exists(p)), None)
    if not nginx:
        raise SystemExit("nginx is not installed: apt-get install nginx-light")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "gatehouse", "-p", "gatehouse-bench-hello", "--bins"], cwd=ROOT, check=True)
    tdir = target_dir()
    gatehouse = os.path.join(tdir, "release", "gatehouse")
    hello_bin = os.path.join(tdir, "release", "gatehouse-bench-hello")
    bare_bin = os.path.join(tdir, "release", "bare-proxy")

    # SIGTERM (and SIGINT, even when started in the background) unwind through `finally`, so
    # the servers are stopped with the script.
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    b = Bench(args)
    tmp = tempfile.mkdtemp(prefix="gh-proxy-bench-")
    env = dict(os.environ, LOG_LEVEL="warn")
    started = time.time()
    load_before = os.getloadavg()
    try:
        # The upstream.
        up_port = free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        hello = b.start([hello_bin, f"127.0.0.1:{up_port}"])
        wait_ready(upstream + "/")

        # The identity service: `identity serve --dev` with a small file for free ports and
        # the built-in dev schema.
        pub, adm = free_port(), free_port()
        kratos = os.path.join(tmp, "kratos.json")
        with open(kratos, "w") as f:
            json.dump({
                "dsn": f"sqlite://{tmp}/identity.db?mode=rwc",
                "serve": {"public": {"host": "127.0.0.1", "port": pub}, "admin": {"host": "127.0.0.1", "port": adm}},
                "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": "gatehouse:dev-schema"}]},
                "selfservice": {"flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}},
            }, f)
        identity = b.start([gatehouse, "identity", "serve", "--dev", "-c", kratos], cwd=tmp, env=env,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "identity.log"), "w"))
        kratos_url = f"http://127.0.0.1:{pub}"
        wait_ready(kratos_url + "/health/ready")
        flow = json.loads(get(kratos_url + "/self-service/registration/api")[2])
        done = post_json(flow["ui"]["action"], {"method": "password", "password": "bench password 123",
                                                "traits": {"email": EMAIL, "name": {"first": "Ada"}}})
        cookie = f"Cookie: ory_kratos_session={done['session_token']}"

        # Two proxies: the same two rules among 10 and among 10,000.
        proxies, ready = {}, {}
        for count in (10, args.rules):
            d = os.path.join(tmp, f"proxy-{count}")
            os.makedirs(d)
            with open(os.path.join(d, "rules.json"), "w") as f:
                json.dump(rules(count, upstream), f)
            pp, ap_ = free_port(), free_port()
            with open(os.path.join(d, "oathkeeper.json"), "w") as f:
                json.dump({
                    "serve": {"proxy": {"host": "127.0.0.1", "port": pp}, "api": {"host": "127.0.0.1", "port": ap_}},
                    "access_rules": {"repositories": [f"file://{d}/rules.json"]},
                    "authenticators": {
                        "anonymous": {"enabled": True},
                        "cookie_session": {"enabled": True, "config": {
                            "check_session_url": f"{kratos_url}/sessions/whoami",
                            "preserve_path": True,
                            "subject_from": "identity.traits.email",
                        }},
                    },
                    "authorizers": {"allow": {"enabled": True}},
                    "mutators": {"noop": {"enabled": True}, "header": {"enabled": True, "config": {"headers": {}}}},
                }, f)
            t0 = time.time()
            p = b.start([gatehouse, "proxy", "serve", "-c", os.path.join(d, "oathkeeper.json")], env=env,
                        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "proxy.log"), "w"))
            proxies[count] = (f"http://127.0.0.1:{pp}", f"http://127.0.0.1:{ap_}", p)
            wait_ready(f"http://127.0.0.1:{ap_}/health/ready")
            ready[count] = time.time() - t0

        # All in one: `gatehouse serve` with the identity service (same database, so the same
        # session) and the proxy (the 10 rules) in one process; cookie_session's whoami call
        # then goes to the identity router in-process instead of over loopback HTTP.
        aio_pub, aio_adm, aio_pp, aio_ap = free_port(), free_port(), free_port(), free_port()
        with open(kratos) as f:
            aio_identity = json.load(f)
        aio_identity["serve"] = {"public": {"host": "127.0.0.1", "port": aio_pub}, "admin": {"host": "127.0.0.1", "port": aio_adm}}
        with open(os.path.join(tmp, "proxy-10", "oathkeeper.json")) as f:
            aio_proxy = json.load(f)
        aio_proxy["serve"] = {"proxy": {"host": "127.0.0.1", "port": aio_pp}, "api": {"host": "127.0.0.1", "port": aio_ap}}
        aio_proxy["authenticators"]["cookie_session"]["config"]["check_session_url"] = f"http://127.0.0.1:{aio_pub}/sessions/whoami"
        aio_conf = os.path.join(tmp, "all-in-one.json")
        with open(aio_conf, "w") as f:
            json.dump({"identity": aio_identity, "proxy": aio_proxy}, f)
        aio = b.start([gatehouse, "serve", "--dev", "-c", aio_conf], cwd=tmp, env=env,
                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "all-in-one.log"), "w"))
        aio_url, aio_api = f"http://127.0.0.1:{aio_pp}", f"http://127.0.0.1:{aio_ap}"
        wait_ready(aio_api + "/health/ready")

        # The proxy of the 10 rules again, with cookie_session's opt-in cache of whoami answers
        # (`cache: {enabled: true, ttl: 1s}`): proxy and identity still separate processes.
        cached_pp, cached_ap = free_port(), free_port()
        cached_dir = os.path.join(tmp, "proxy-cached")
        os.makedirs(cached_dir)
        with open(os.path.join(tmp, "proxy-10", "oathkeeper.json")) as f:
            cached_conf = json.load(f)
        cached_conf["serve"] = {"proxy": {"host": "127.0.0.1", "port": cached_pp}, "api": {"host": "127.0.0.1", "port": cached_ap}}
        cached_conf["authenticators"]["cookie_session"]["config"]["cache"] = {"enabled": True, "ttl": "1s"}
        with open(os.path.join(cached_dir, "oathkeeper.json"), "w") as f:
            json.dump(cached_conf, f)
        cached = b.start([gatehouse, "proxy", "serve", "-c", os.path.join(cached_dir, "oathkeeper.json")], env=env,
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(cached_dir, "proxy.log"), "w"))
        cached_url, cached_api = f"http://127.0.0.1:{cached_pp}", f"http://127.0.0.1:{cached_ap}"
        wait_ready(cached_api + "/health/ready")

        # The floor: gatehouse's server loop in front of its upstream pool with nothing
        # between (bench/hello/src/bin/bare-proxy.rs), the HTTP stack gatehouse's proxy is built on.
        bare_port = free_port()
        bare = b.start([bare_bin, f"127.0.0.1:{bare_port}", f"127.0.0.1:{up_port}"])
        bare_url = f"http://127.0.0.1:{bare_port}"
        wait_ready(bare_url + "/")

        # nginx in front of the same upstream: one worker, upstream keepalive, no request cap
        # on either side (gatehouse has none), the X-Forwarded-* headers gatehouse also sets.
        ng_port = free_port()
        ng_dir = os.path.join(tmp, "nginx")
        os.makedirs(ng_dir)
        conf = os.path.join(ng_dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off;
worker_processes 1;
pid {ng_dir}/nginx.pid;
error_log {ng_dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {ng_dir}; proxy_temp_path {ng_dir}; fastcgi_temp_path {ng_dir}; uwsgi_temp_path {ng_dir}; scgi_temp_path {ng_dir};
  keepalive_requests 10000000;
  upstream hello {{
    server 127.0.0.1:{up_port};
    keepalive 64;
    keepalive_requests 10000000;
  }}
  server {{
    listen 127.0.0.1:{ng_port};
    location / {{
      proxy_pass http://hello;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }}
  }}
}}
""")
        ng = b.start([nginx, "-p", ng_dir, "-c", conf], stderr=subprocess.DEVNULL)
        ng_url = f"http://127.0.0.1:{ng_port}"
        wait_ready(ng_url + "/")

        p10, api10, proc10 = proxies[10]
        pbig, apibig, procbig = proxies[args.rules]
        # Check every path answers what the upstream says, and the session rule puts the
        # e-mail in the header (asked through the decisions API, which returns the headers).
        for url, hdrs in ((p10 + "/", {"Host": ANON_HOST}), (pbig + "/", {"Host": ANON_HOST}),
                          (p10 + "/", {"Host": SESSION_HOST, "Cookie": cookie.split(": ", 1)[1]}),
                          (aio_url + "/", {"Host": SESSION_HOST, "Cookie": cookie.split(": ", 1)[1]}),
                          (bare_url + "/", {}), (ng_url + "/", {})):
            status, _, body = get(url, hdrs)
            if status != 200 or body != b"hello, world":
                raise SystemExit(f"{url} {hdrs}: {status} {body!r}")
        for api, proxy in ((api10, p10), (aio_api, aio_url), (cached_api, cached_url)):
            status, headers, _ = get(api + "/decisions/", {"Host": SESSION_HOST, "Cookie": cookie.split(": ", 1)[1]})
            if status != 200 or headers.get("X-User-Email") != EMAIL:
                raise SystemExit(f"decisions for the session rule ({api}): {status} {headers}")
            # Without the cookie the session rule must refuse (the pipeline really runs).
            try:
                get(proxy + "/", {"Host": SESSION_HOST})
                raise SystemExit(f"the session rule ({proxy}) let a request without a cookie through")
            except urllib.error.HTTPError as e:
                if e.code != 401:
                    raise SystemExit(f"the session rule ({proxy}) without a cookie answered {e.code}, not 401")

        if args.hold:
            print(f"upstream {upstream} (pid {hello.pid})\nidentity {kratos_url} (pid {identity.pid})\n"
                  f"proxy, 10 rules {p10} (pid {proc10.pid})\nproxy, {args.rules} rules {pbig} (pid {procbig.pid})\n"
                  f"all in one {aio_url} (pid {aio.pid})\nproxy, session cache {cached_url} (pid {cached.pid})\nbare proxy {bare_url} (pid {bare.pid})\n"
                  f"nginx {ng_url} (pid {ng.pid})\nheaders: 'Host: {ANON_HOST}' or 'Host: {SESSION_HOST}' '{cookie}'\n"
                  "Ctrl-C to stop", flush=True)
            try:
                signal.pause()
            except (KeyboardInterrupt, Stopped):
                pass
            return
        c = args.connections
        throughput = [
            ("direct", "upstream directly", upstream + "/", [], [hello.pid]),
            ("anonymous", "gatehouse, anonymous/allow/noop", p10 + "/", [f"Host: {ANON_HOST}"], [proc10.pid, hello.pid]),
            ("session", "gatehouse, cookie_session + header mutator", p10 + "/", [f"Host: {SESSION_HOST}", cookie],
             [proc10.pid, hello.pid, identity.pid]),
            ("session_aio", "gatehouse serve (all in one), cookie_session + header mutator", aio_url + "/",
             [f"Host: {SESSION_HOST}", cookie], [aio.pid, hello.pid]),
            ("session_cached", "gatehouse, cookie_session with `cache: {enabled: true, ttl: 1s}` (opt-in) + header mutator",
             cached_url + "/", [f"Host: {SESSION_HOST}", cookie], [cached.pid, hello.pid, identity.pid]),
            ("bare", "server loop + upstream pool, nothing between (the floor)", bare_url + "/", [], [bare.pid, hello.pid]),
            ("nginx", "nginx proxy_pass (keepalive)", ng_url + "/", [], [ng.pid, hello.pid]),
        ]
        latency = [
            ("direct", "upstream directly", upstream + "/", [], [hello.pid]),
            ("rules10", "gatehouse, anonymous, 10 rules", p10 + "/", [f"Host: {ANON_HOST}"], [proc10.pid, hello.pid]),
            ("rulesbig", f"gatehouse, anonymous, {args.rules:,} rules", pbig + "/", [f"Host: {ANON_HOST}"], [procbig.pid, hello.pid]),
            ("nginx", "nginx proxy_pass (keepalive)", ng_url + "/", [], [ng.pid, hello.pid]),
            ("session", "gatehouse, cookie_session + header mutator", p10 + "/", [f"Host: {SESSION_HOST}", cookie],
             [proc10.pid, hello.pid, identity.pid]),
        ]
        for _, _, url, hdrs, _ in throughput:
            b.wrk(url, args.warmup, c, hdrs)
        for _, _, url, hdrs, _ in latency:
            b.wrk(url, args.warmup, 1, hdrs)

        b.reset_accounting()
        samples = {("t", k): [] for k, *_ in throughput} | {("l", k): [] for k, *_ in latency}
        for r in range(args.rounds):
            for kind, rows, conns in (("t", throughput, c), ("l", latency, 1)):
                for key, _, url, hdrs, pids in rows:
                    res = b.wrk(url, args.duration, conns, hdrs, pids)
                    samples[(kind, key)].append(res)
                    print(f"round {r + 1}/{args.rounds} {'throughput' if kind == 't' else 'latency'} {key}: "
                          f"{res['rps']:.0f} req/s, p50 {fmt_us(res['p50'])}, p99 {fmt_us(res['p99'])}, "
                          f"server CPU {res['cpu_per_req']:.1f} µs/req, failed {res['failed']}", flush=True)
        load_after = os.getloadavg()
        rss = {count: rss_mib(p.pid) for count, (_, _, p) in proxies.items()}
        rss["nginx"] = sum(rss_mib(q) for q in tree(ng.pid))
        elapsed = time.time() - started

        def med(kind, key, field):
            return statistics.median(s[field] for s in samples[(kind, key)])

        def per_round(f):
            return [f(i) for i in range(args.rounds)]

        def s(kind, key, i, field):
            return samples[(kind, key)][i][field]

        # Each ratio is taken within a round (its rows ran a minute apart at most), then the
        # median over rounds: a slow change in the machine's other load cancels out.
        anon_rounds = per_round(lambda i: s("t", "anonymous", i, "rps") / s("t", "nginx", i, "rps"))
        sess_rounds = per_round(lambda i: s("t", "session", i, "rps") / s("t", "nginx", i, "rps"))
        aio_rounds = per_round(lambda i: s("t", "session_aio", i, "rps") / s("t", "nginx", i, "rps"))
        cached_rounds = per_round(lambda i: s("t", "session_cached", i, "rps") / s("t", "nginx", i, "rps"))
        bare_rounds = per_round(lambda i: s("t", "bare", i, "rps") / s("t", "nginx", i, "rps"))
        add10_rounds = per_round(lambda i: s("l", "rules10", i, "p50") - s("l", "direct", i, "p50"))
        addbig_rounds = per_round(lambda i: s("l", "rulesbig", i, "p50") - s("l", "direct", i, "p50"))
        scale_rounds = [big / max(small, 1e-9) for big, small in zip(addbig_rounds, add10_rounds)]
        anon_ratio = statistics.median(anon_rounds)
        sess_ratio = statistics.median(sess_rounds)
        aio_ratio = statistics.median(aio_rounds)
        cached_ratio = statistics.median(cached_rounds)
        bare_ratio = statistics.median(bare_rounds)
        scale_ratio = statistics.median(scale_rounds)
        add10 = statistics.median(add10_rounds)
        addbig = statistics.median(addbig_rounds)
        failed = sum(x["failed"] for v in samples.values() for x in v)

        with open("/proc/cpuinfo") as f:
            model = re.search(r"model name\s*:\s*(.*)", f.read())
        pin = (f"wrk on CPU {args.load_cpus} (-t{b.wrk_threads}), every server on CPU {args.server_cpus} (taskset)"
               if b.pin else "not pinned")
        cmd = "python3 bench/proxy.py" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in (("duration", args.duration), ("rounds", args.rounds),
                                                      ("connections", args.connections), ("rules", args.rules))
            if v != ap.get_default(k))
        rows_t = [(label, samples[("t", key)]) for key, label, *_ in throughput]
        rows_l = [(label, samples[("l", key)]) for key, label, *_ in latency]
        direct_p50 = med("l", "direct", "p50")

        busy_share = b.other_cpu / b.wall / os.cpu_count() + b.steal / b.wall / os.cpu_count()
        busy = (" — **the machine was busy: these figures are not reliable, run again on a quiet machine**"
                if busy_share > 0.10 else "")

        def verdict(ok):
            return "met" if ok else "**missed**"

        lines = [
            f"### Access proxy, {time.strftime('%Y-%m-%d')}",
            "",
            f"Machine: {os.cpu_count()} CPUs ({model.group(1).strip() if model else platform.processor()}), "
            f"Linux {platform.release()}; {pin}. Load average {load_before[0]:.2f} before, "
            f"{load_after[0]:.2f} after; during the measurements other processes used "
            f"{100 * b.other_cpu / b.wall / os.cpu_count():.0f}% of the machine's CPU time and the hypervisor "
            f"took {100 * b.steal / b.wall / os.cpu_count():.0f}% (steal){busy}; {elapsed / 60:.1f} min in all.",
            "",
            f"Command: `{cmd}` ({args.rounds} interleaved round(s) of {args.duration} s per row after "
            f"{args.warmup} s of warm-up; each figure is the median over the rounds, each ratio the median "
            "of the ratios taken within a round).",
            "",
            f"Throughput, wrk -c{c}:",
            "",
            "| path | req/s | p50 | p99 | server CPU per request | failed |",
            "|---|---|---|---|---|---|",
        ]
        for label, ss in rows_t:
            lines.append(f"| {label} | {statistics.median(x['rps'] for x in ss):.0f} | "
                         f"{fmt_us(statistics.median(x['p50'] for x in ss))} | {fmt_us(statistics.median(x['p99'] for x in ss))} | "
                         f"{statistics.median(x['cpu_per_req'] for x in ss):.1f} µs | {sum(x['failed'] for x in ss)} |")
        lines += [
            "",
            "Latency, wrk -t1 -c1 (one request at a time):",
            "",
            "| path | req/s | p50 | p50 added over direct | p99 | server CPU per request | failed |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, ss in rows_l:
            p50 = statistics.median(x["p50"] for x in ss)
            lines.append(f"| {label} | {statistics.median(x['rps'] for x in ss):.0f} | {fmt_us(p50)} | "
                         f"{'—' if label == 'upstream directly' else fmt_us(p50 - direct_p50)} | "
                         f"{fmt_us(statistics.median(x['p99'] for x in ss))} | "
                         f"{statistics.median(x['cpu_per_req'] for x in ss):.1f} µs | {sum(x['failed'] for x in ss)} |")
        rr = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
        lines += [
            "",
            "Server CPU per request: CPU time of the processes on the path (proxy or nginx, the "
            "upstream, and the identity service for cookie_session) over the requests served.",
            "The all-in-one row's identity service is the same process as its proxy.",
            "",
            "| ratio (same run, median of rounds) | value | target | per round | verdict |",
            "|---|---|---|---|---|",
            f"| anonymous rule req/s / nginx req/s | {anon_ratio:.2f} | ≥ 0.8 | {rr(anon_rounds)} | {verdict(anon_ratio >= 0.8)} |",
            f"| cookie_session req/s / nginx req/s, proxy and identity in separate processes | {sess_ratio:.2f} | ≥ 0.5 | {rr(sess_rounds)} | {verdict(sess_ratio >= 0.5)} |",
            f"| cookie_session req/s / nginx req/s, all in one `gatehouse serve` | {aio_ratio:.2f} | ≥ 0.5 | {rr(aio_rounds)} | {verdict(aio_ratio >= 0.5)} |",
            f"| cookie_session req/s / nginx req/s, separate processes, opt-in session cache (1 s) | {cached_ratio:.2f} | (≥ 0.5) | {rr(cached_rounds)} | {verdict(cached_ratio >= 0.5)} |",
            f"| (for scale) bare proxy (server loop + upstream pool) req/s / nginx req/s | {bare_ratio:.2f} | — | {rr(bare_rounds)} | — |",
            f"| p50 added, {args.rules:,} rules / 10 rules (medians {fmt_us(addbig)} / {fmt_us(add10)}) | {scale_ratio:.2f} | ≤ 2 | "
            f"{rr(scale_rounds)} | {verdict(scale_ratio <= 2)} |",
            "",
        ]
        lines += [
            f"Memory after the run (RSS): gatehouse proxy with 10 rules {rss[10]:.1f} MiB, with "
            f"{args.rules:,} rules {rss[args.rules]:.1f} MiB (ready {ready[args.rules]:.1f} s after start, "
            f"10 rules {ready[10]:.1f} s); nginx master and worker {rss['nginx']:.1f} MiB.",
            "",
        ]
        report = "\n".join(lines)
        print()
        print(report)
        if args.out:
            with open(args.out, "a") as f:
                f.write(report + "\n")
        if failed:
            raise SystemExit(f"{failed} request(s) failed (non-2xx or socket errors); see the tables")
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Stopped as e:
        raise SystemExit(str(e))
