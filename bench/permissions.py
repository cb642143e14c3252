#!/usr/bin/env python3
"""Permissions (Keto) check benchmark with wrk on loopback. One command, about 8 minutes:

    python3 bench/permissions.py                      # SQLite and PostgreSQL, 10k and 1M tuples
    python3 bench/permissions.py --out BENCHMARKS.md  # the same, and append the tables there
    python3 bench/permissions.py --backends sqlite --sizes 10000 --duration 3   # a quick look
    python3 bench/permissions.py --load-only --load api --sizes 1000000          # time 1M via the API

Needs wrk, taskset (Debian packages) and, for PostgreSQL, psql. Builds the release binaries it
measures first (honours CARGO_TARGET_DIR; --no-build skips that).

Per backend (a SQLite file in a temporary directory; PostgreSQL at $GATEHOUSE_TEST_POSTGRES_DSN or
postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, with a fresh database per size that is
dropped afterwards) and per size (default 10,000 and 1,000,000 tuples):

1. Generates exactly that many tuples for the OPL model below with the same shape at every size
   (see Shape): users in groups, groups viewing folders, folders nested three deep through
   `parents`, documents in folders with owners and editors. Only the counts grow.
2. Loads them, timed: through the write API (PATCH /admin/relation-tuples, 1000 tuples a request,
   2 clients) or straight into permission_relation_tuples (sqlite3 executemany / psql \\copy) after
   `gatehouse permissions migrate up`. --load auto (default) uses the API up to 100k tuples and SQL
   above, to keep the run short. PostgreSQL then gets VACUUM ANALYZE: what autovacuum does to a
   table after that many inserts within a minute or so (statistics, and the visibility map that
   lets an index-only lookup skip the table); measuring before it ran would measure the load.
3. Asks the server 1000 sampled checks of each kind (each must be allowed; the three-level ones
   must be denied at max-depth 4, proving the walk needs the whole chain), then measures with wrk,
   one sample picked at random per request (Lua) against GET /relation-tuples/check/openapi:
   - direct tuple: Document:d#owners@User:u, a stored tuple (one indexed lookup);
   - subject-set hop: Folder:f#viewers@User:u, u in a group that is a viewer of f;
   - three-level traverse: Document:d#view@User:u, d in folder f, f's parent p, u in a group that
     views p and nothing on d or f grants u anything: document -> folder -> parent folder ->
     group -> user, at Keto's default max depth 5;
   plus a check in a namespace the model lacks, which is answered before any SQL (the cost of
   HTTP, parsing and the answer). 32 connections (throughput), 4 (moderate load) and, for the
   traverse, 1 (latency without queueing); each run after a warm-up.
4. Measures the bare hello-world axum binary (bench/hello) in the same run, pinned the same way,
   at the start and at the end of each backend's section; ratios use the higher of the two.

Where things run on a 2-core machine: the server under test (gatehouse or hello) on CPU 0, wrk
with one thread on CPU 1 (taskset), both at nice -10 when run as root so other work on a shared
machine disturbs less; PostgreSQL is not pinned. Every row also reports the server's CPU time per
request (from /proc/PID/stat) and how busy that makes CPU 0, and for PostgreSQL the CPU time of
its backends per request: these are steadier than req/s when the machine is not idle.
"""

import argparse, concurrent.futures, http.client, json, os, platform, random, re, shutil, socket, sqlite3, subprocess, tempfile, textwrap, time, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODEL = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "crates/permissions/tests/fixtures/documents.keto.ts")).read()

SAMPLES = 1000  # checks of each kind, picked at random by wrk


def target_dir():
    meta = subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT)
    return json.loads(meta)["target_directory"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready")


def rss_kb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(key + r":\s+(\d+)", f.read()).group(1))


def mib(kb):
    return f"{kb / 1024:.1f} MiB"


# ---------------------------------------------------------------------------------------------
# The data set.


class Shape:
    """Tuples for `n` (exactly n of them) and the structure the check samples are drawn from.

    Per 1M tuples: 50,000 users each in 3 of 2,000 groups (75 members a group on average), 5% of
    groups nested in another; 2,000 root folders with 5 subfolders each with 3 subfolders
    (42,000 folders), each folder with an owner and 1-2 viewer groups; documents fill the rest:
    each in a random non-root folder with an owner, 30% with an editor, 10% with a viewer group.
    """

    def __init__(self, n, seed=7):
        rnd = random.Random(seed)
        s = n / 1_000_000
        n_users, n_groups, n_roots = max(60, round(50_000 * s)), max(4, round(2_000 * s)), max(2, round(2_000 * s))
        t = self.tuples = []  # (namespace, object, relation, subject namespace, object, relation)
        self.members = {f"g{i}": set() for i in range(n_groups)}
        groups = list(self.members)
        for u in range(n_users):
            for g in rnd.sample(groups, 3):
                self.members[g].add(f"u{u}")
                t.append(("Group", g, "members", "User", f"u{u}", ""))
        self.nested = {}
        for g in rnd.sample(groups, max(1, n_groups // 20)):
            inner = rnd.choice([x for x in groups[:50] if x != g])
            self.nested[g] = inner
            t.append(("Group", g, "members", "Group", inner, "members"))
        self.parent, self.owner, self.viewers = {}, {}, {}
        levels = [[f"r{i}" for i in range(n_roots)]]
        for width, prefix in ((5, "s"), (3, "l")):
            nxt = []
            for p in levels[-1]:
                for _ in range(width):
                    f = f"{prefix}{len(nxt)}"
                    self.parent[f] = p
                    nxt.append(f)
            levels.append(nxt)
        for level in levels:
            for f in level:
                if f in self.parent:
                    t.append(("Folder", f, "parents", "Folder", self.parent[f], ""))
                self.owner[f] = f"u{rnd.randrange(n_users)}"
                t.append(("Folder", f, "owners", "User", self.owner[f], ""))
                self.viewers[f] = rnd.sample(groups, rnd.choice((1, 2)))
                for g in self.viewers[f]:
                    t.append(("Folder", f, "viewers", "Group", g, "members"))
        inner_folders = levels[1] + levels[2]
        self.docs = []  # (doc, folder, owner, editor, viewer group), complete ones only
        d = 0
        while len(t) < n:
            doc, folder, owner = f"d{d}", rnd.choice(inner_folders), f"u{rnd.randrange(n_users)}"
            editor = f"u{rnd.randrange(n_users)}" if rnd.random() < 0.3 else None
            vgroup = rnd.choice(groups) if rnd.random() < 0.1 else None
            t.append(("Document", doc, "parents", "Folder", folder, ""))
            t.append(("Document", doc, "owners", "User", owner, ""))
            if editor:
                t.append(("Document", doc, "editors", "User", editor, ""))
            if vgroup:
                t.append(("Document", doc, "viewers", "Group", vgroup, "members"))
            if len(t) <= n:
                self.docs.append((doc, folder, owner, editor, vgroup))
            d += 1
        del t[n:]
        if len(self.docs) < 100:
            raise SystemExit(f"{n} tuples is too few for this shape")
        self.counts = {"users": n_users, "groups": n_groups, "folders": len(self.parent) + n_roots, "documents": len(self.docs)}

    def reach(self, groups):
        """Users in `groups`, one nesting level deep (what a failed group lookup may find)."""
        out = set()
        for g in groups:
            out |= self.members[g]
            if g in self.nested:
                out |= self.members[self.nested[g]]
        return out

    def samples(self, rnd):
        """Three lists of SAMPLES (namespace, object, relation, user) that must be allowed."""
        direct = [("Document", d[0], "owners", d[2]) for d in rnd.sample(self.docs, SAMPLES)]
        folders = list(self.viewers)
        hop = []
        while len(hop) < SAMPLES:
            f = rnd.choice(folders)
            g = rnd.choice(self.viewers[f])
            if self.members[g]:
                hop.append(("Folder", f, "viewers", rnd.choice(sorted(self.members[g]))))
        deep = []
        tries = 0
        while len(deep) < SAMPLES:
            tries += 1
            if tries > 100 * SAMPLES:
                raise SystemExit("could not find enough three-level checks")
            doc, folder, owner, editor, vgroup = rnd.choice(self.docs)
            p = self.parent[folder]
            granted = set().union(*(self.members[g] for g in self.viewers[p]))
            candidates = sorted(granted - self.reach(self.viewers[folder]) - self.reach([vgroup] if vgroup else []))
            candidates = [u for u in candidates if u not in (owner, editor, self.owner[folder], self.owner[p])]
            if candidates:
                deep.append(("Document", doc, "view", rnd.choice(candidates)))
        return {"direct": direct, "hop": hop, "deep": deep}


def check_path(ns, obj, rel, user, depth=None):
    q = {"namespace": ns, "object": obj, "relation": rel, "subject_set.namespace": "User", "subject_set.object": user, "subject_set.relation": ""}
    if depth is not None:
        q["max-depth"] = str(depth)
    return "/relation-tuples/check/openapi?" + urllib.parse.urlencode(q)


# ---------------------------------------------------------------------------------------------
# Loading.


def load_api(port, tuples, batch=1000, workers=2):
    def body(chunk):
        return json.dumps([
            {"action": "insert", "relation_tuple": {"namespace": a, "object": b, "relation": c, "subject_set": {"namespace": d, "object": e, "relation": f}}}
            for a, b, c, d, e, f in chunk
        ]).encode()

    def send(start):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for i in range(start, len(tuples), batch * workers):
            conn.request("PATCH", "/admin/relation-tuples", body(tuples[i:i + batch]), {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 204:
                raise SystemExit(f"PATCH answered {r.status}")
        conn.close()

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(send, [w * batch for w in range(workers)]))


def rows(tuples, now):
    for a, b, c, d, e, f in tuples:
        yield (a, b, c, f"set:{d}:{e}#{f}", d, e, f, now)


def load_sql(backend, dsn, db_path, tuples):
    now = int(time.time() * 1_000_000)
    cols = "namespace, object, relation, subject, subject_set_namespace, subject_set_object, subject_set_relation, created_at"
    if backend == "sqlite":
        con = sqlite3.connect(db_path)
        with con:
            con.executemany(f"INSERT INTO permission_relation_tuples ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows(tuples, now))
        con.close()
    else:
        data = "".join("\t".join(map(str, r)) + "\n" for r in rows(tuples, now)).encode()
        subprocess.run(["psql", dsn, "-qc", f"\\copy permission_relation_tuples ({cols}) FROM STDIN"], input=data, check=True)


def count(backend, dsn, db_path):
    if backend == "sqlite":
        con = sqlite3.connect(db_path)
        n = con.execute("SELECT COUNT(*) FROM permission_relation_tuples").fetchone()[0]
        con.close()
        return n
    return int(subprocess.check_output(["psql", dsn, "-Atc", "SELECT COUNT(*) FROM permission_relation_tuples"]).strip())


# ---------------------------------------------------------------------------------------------
# Measuring.


CLK = os.sysconf("SC_CLK_TCK")
NICE = []  # ["nice", "-n", "-10"] when allowed: see --nice


def cpu_s(pid):
    """CPU seconds (user + system, all threads) a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def pg_backends(dsn):
    out = subprocess.check_output(["psql", dsn, "-Atc", "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"], text=True)
    return [int(x) for x in out.split()]


def wrk(url, duration, conns, script=None, server=None, pg=None):
    """One wrk run; with `server` (a pid) also the server's CPU time per request and share of
    a core, and with `pg` (a DSN) the CPU time of the PostgreSQL backends serving it."""
    cmd = NICE + ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    pg_before = {p: cpu_s(p) for p in pg_backends(pg)} if pg else {}
    cpu_before = cpu_s(server) if server else 0.0
    t0 = time.time()
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    wall = time.time() - t0
    cpu = cpu_s(server) - cpu_before if server else None
    pg_cpu = sum(cpu_s(p) - pg_before.get(p, 0.0) for p in pg_backends(pg)) if pg else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "errors": int(non2xx.group(1)) if non2xx else 0, "socket": errs.group(1) if errs else "",
        "cpu_us": cpu / total * 1e6 if cpu is not None and total else None,
        "busy": cpu / wall if cpu is not None else None,
        "pg_us": pg_cpu / total * 1e6 if pg_cpu is not None and total else None,
    }


def ms(lat):
    """wrk's latency text (97.00us, 1.23ms, 1.02s) in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", lat)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def lua_for(tmp, name, paths):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("paths = {\n" + "".join(f'  "{p}",\n' for p in paths) + "}\n")
        f.write(textwrap.dedent("""
            -- Globals, not locals: setup() runs in the main Lua state and thread:set() writes
            -- a global of each thread's own state.
            counter = 0
            tid = 0
            function setup(thread) counter = counter + 1; thread:set("tid", counter) end
            function init(args) math.randomseed(os.time() + tid * 7919) end
            function request() return wrk.format("GET", paths[math.random(#paths)]) end
        """))
    return path


def verify(port, samples, depth_probe):
    """Every sample must be allowed; the three-level ones must be denied at max-depth 4 (proof
    that the walk really needs the whole chain)."""

    def ask(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
            return json.loads(r.read())["allowed"]

    jobs = [(kind, check_path(*s), True) for kind, lst in samples.items() for s in lst]
    jobs += [("deep@4", check_path(*s, depth=4), False) for s in samples["deep"][:depth_probe]]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        answers = list(ex.map(lambda j: ask(j[1]), jobs))
    wrong = [(k, p) for (k, p, want), got in zip(jobs, answers) if got != want]
    if wrong:
        raise SystemExit(f"{len(wrong)} checks answered unexpectedly, e.g. {wrong[:3]}")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each measured run")
    ap.add_argument("--load", default="auto", choices=["auto", "api", "sql"], help="auto: API up to 100k tuples, SQL above")
    ap.add_argument("--out")
    ap.add_argument("--nice", type=int, default=-10, help="niceness of the server, hello and wrk (negative needs root; 0 to leave as is)")
    ap.add_argument("--load-only", action="store_true", help="only load (and time) the tuples; no checks")
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    args = ap.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install {'wrk' if tool == 'wrk' else 'util-linux'})")
    if args.nice and (args.nice > 0 or os.geteuid() == 0):
        NICE.extend(["nice", "-n", str(args.nice)])
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "gatehouse", "-p", "gatehouse-bench-hello"], cwd=ROOT, check=True)
    tdir = target_dir()
    gatehouse = os.path.join(tdir, "release", "gatehouse")
    hello_bin = os.path.join(tdir, "release", "gatehouse-bench-hello")
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    tmp = tempfile.mkdtemp(prefix="gh-keto-bench-")
    env = dict(os.environ, LOG_LEVEL="warn")
    procs, databases = [], []
    # Without sslmode, sqlx negotiates TLS even on loopback ("prefer"); Keto's documented DSNs
    # say sslmode=disable, and so does this default (the README notes what TLS costs).
    pg_base = os.environ.get("GATEHOUSE_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
    model = os.path.join(tmp, "model.keto.ts")
    with open(model, "w") as f:
        f.write(MODEL)
    d, w = args.duration, args.warmup
    started = time.time()
    report = []

    def stop(p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def measure_hello():
        """The bare hello-world endpoint's throughput with 32 connections, pinned like the server."""
        r = {"rps": float("nan"), "p50": "-", "p99": "-", "errors": 0, "cpu_us": None, "busy": None, "pg_us": None}
        port = free_port()
        hello = subprocess.Popen(NICE + ["taskset", "-c", "0", hello_bin, f"127.0.0.1:{port}"])
        procs.append(hello)
        url = f"http://127.0.0.1:{port}/"
        wait_ready(url)
        if not args.load_only:
            wrk(url, w, 32)
            r = wrk(url, d, 32, server=hello.pid)
        stop(hello)
        return r

    try:
        print(f"generating {', '.join(map(str, sizes))} tuples ...", flush=True)
        shapes = {n: Shape(n) for n in sizes}
        samples = {n: shapes[n].samples(random.Random(n)) for n in sizes}
        for backend in backends:
            load_avg = os.getloadavg()
            # The yardstick, pinned like the server, at the start and the end of the section:
            # the ratios use the higher of the two, so a slow moment of the machine cannot
            # flatter them.
            hello_start = measure_hello()
            if not args.load_only:
                print(f"[{backend}] hello world: {hello_start['rps']:.0f} req/s", flush=True)
            loads, results = [], []
            for n in sizes:
                shape = shapes[n]
                method = args.load if args.load != "auto" else ("api" if n <= 100_000 else "sql")
                read, write, opl, metrics = free_port(), free_port(), free_port(), free_port()
                db_path = None
                if backend == "postgres":
                    name = f"gh_keto_bench_{os.getpid()}_{n}"
                    subprocess.run(["psql", pg_base, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))
                    subprocess.run(["psql", pg_base, "-qc", f"CREATE DATABASE {name}"], check=True)
                    databases.append(name)
                    dsn = urllib.parse.urlunsplit(urllib.parse.urlsplit(pg_base)._replace(path="/" + name))
                    dsn_q = dsn
                else:
                    db_path = os.path.join(tmp, f"keto-{n}.db")
                    dsn, dsn_q = f"sqlite://{db_path}?mode=rwc", None
                cfg = os.path.join(tmp, f"keto-{backend}-{n}.yml")
                with open(cfg, "w") as f:
                    json.dump({
                        "dsn": dsn,
                        "namespaces": {"location": f"file://{model}"},
                        "serve": {k: {"host": "127.0.0.1", "port": p} for k, p in (("read", read), ("write", write), ("opl", opl), ("metrics", metrics))},
                    }, f)
                print(f"[{backend}] loading {n} tuples via {method} ...", flush=True)
                if method == "sql":
                    subprocess.run([gatehouse, "permissions", "migrate", "up", "-y", "-c", cfg], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    t0 = time.time()
                    load_sql(backend, dsn_q, db_path, shape.tuples)
                    load_s = time.time() - t0
                server = subprocess.Popen(NICE + ["taskset", "-c", "0", gatehouse, "permissions", "serve", "-c", cfg], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append(server)
                wait_ready(f"http://127.0.0.1:{read}/health/ready")
                idle = rss_kb(server.pid)
                if method == "api":
                    t0 = time.time()
                    load_api(write, shape.tuples)
                    load_s = time.time() - t0
                if backend == "postgres":
                    subprocess.run(["psql", dsn_q, "-qc", "VACUUM ANALYZE permission_relation_tuples"], check=True)
                stored = count(backend, dsn_q, db_path)
                if stored != n:
                    raise SystemExit(f"{stored} tuples stored, {n} expected")
                loads.append({"n": n, "method": method, "seconds": load_s, "idle": idle, "rss": rss_kb(server.pid), "counts": shape.counts})
                print(f"[{backend}] {n} tuples in {load_s:.1f}s", flush=True)
                if not args.load_only:
                    verify(read, samples[n], 50)
                base = f"http://127.0.0.1:{read}"
                if args.load_only:
                    loads[-1]["rss_end"] = loads[-1]["hwm"] = rss_kb(server.pid)
                    stop(server)
                    continue
                # The cost of HTTP, parsing and the answer without any SQL: a namespace the
                # model does not have is denied before the engine reads anything.
                nosql = base + check_path("Nope", "x", "view", "u1")
                wrk(nosql, w, 32)
                r = wrk(nosql, d, 32, server=server.pid, pg=dsn_q)
                r.update(kind="nosql", label="check answered without SQL (unknown namespace)", n=n, conns=32, rss=rss_kb(server.pid))
                results.append(r)
                print(f"[{backend}] {n} no-SQL check c32: {r['rps']:.0f} req/s p50 {r['p50']} p99 {r['p99']}", flush=True)
                for kind, label in (("direct", "direct tuple"), ("hop", "subject-set hop"), ("deep", "three-level traverse")):
                    script = lua_for(tmp, f"{backend}-{n}-{kind}.lua", [check_path(*s) for s in samples[n][kind]])
                    for conns in (32, 4, 1) if kind == "deep" else (32, 4):
                        wrk(base, w, conns, script)
                        r = wrk(base, d, conns, script, server=server.pid, pg=dsn_q)
                        r.update(kind=kind, label=label, n=n, conns=conns, rss=rss_kb(server.pid))
                        results.append(r)
                        print(f"[{backend}] {n} {label} c{conns}: {r['rps']:.0f} req/s p50 {r['p50']} p99 {r['p99']}", flush=True)
                loads[-1]["rss_end"] = rss_kb(server.pid)
                loads[-1]["hwm"] = rss_kb(server.pid, "VmHWM")
                stop(server)
            hello_end = measure_hello()
            if not args.load_only:
                print(f"[{backend}] hello world again: {hello_end['rps']:.0f} req/s", flush=True)
            hello_r = max(hello_start, hello_end, key=lambda h: h["rps"])
            hello_r["both"] = (hello_start["rps"], hello_end["rps"])
            report.append(section(backend, hello_r, loads, results, d, w, load_avg))
        report.append(targets(report))
        text = "\n".join(r for r in report if r)
        print(text)
        print(f"(benchmark took {time.time() - started:.0f}s)")
        if args.out:
            with open(args.out, "a") as f:
                f.write(text + "\n")
    finally:
        for p in procs:
            stop(p)
        for name in databases:
            subprocess.run(["psql", pg_base, "-qc", f"DROP DATABASE IF EXISTS {name}"])
        shutil.rmtree(tmp, ignore_errors=True)


SUMMARY = []  # (backend, results, hello) for the targets


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return re.search(r"model name\s*:\s*(.*)", f.read()).group(1).strip()
    except Exception:
        return platform.processor() or "unknown CPU"


def section(backend, hello, loads, results, d, w, load_avg):
    SUMMARY.append((backend, results, hello))
    hr = hello["rps"]
    lines = [
        f"### Permissions, {backend}, {time.strftime('%Y-%m-%d')}",
        "",
        f"Machine: nproc {os.cpu_count()} ({cpu_model()}), Linux {platform.release()}; server (gatehouse or hello) on CPU 0, "
        f"wrk -t1 on CPU 1 (taskset){', both at nice ' + NICE[2] if NICE else ''}{', PostgreSQL unpinned' if backend == 'postgres' else ''}; {w}s warm-up then {d}s per row, loopback; "
        f"1-minute load average before the section {load_avg[0]:.2f} (other work on the machine shows here).",
        "",
        "| tuples | users / groups / folders / documents | load | load time | tuples/s | RSS idle | RSS after load | RSS after checks (peak) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for l in loads:
        c = l["counts"]
        how = "API: PATCH, 1000 a request, 2 clients" if l["method"] == "api" else ("SQL: sqlite3 executemany, one transaction" if backend == "sqlite" else "SQL: psql \\copy")
        lines.append(f"| {l['n']:,} | {c['users']:,} / {c['groups']:,} / {c['folders']:,} / {c['documents']:,} | {how} | {l['seconds']:.1f}s | {l['n'] / l['seconds']:,.0f} | {mib(l['idle'])} | {mib(l['rss'])} | {mib(l['rss_end'])} ({mib(l['hwm'])}) |")
    if not results:
        return "\n".join(lines + [""])
    pg = backend == "postgres"

    def us(v):
        return "-" if v is None else f"{v:.0f}us"

    def busy(v):
        return "-" if v is None else f"{v * 100:.0f}%"

    lines += [
        "",
        "| check | tuples | connections | req/s | ratio to hello | p50 | p99 | non-2xx | server CPU per check | server CPU busy |" + (" PostgreSQL CPU per check |" if pg else "") + " server RSS |",
        "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if pg else "") + "---|",
        f"| hello world (bare axum) | - | 32 | {hr:.0f} | 1.00 | {hello['p50']} | {hello['p99']} | {hello['errors']} | {us(hello['cpu_us'])} | {busy(hello['busy'])} |" + (" - |" if pg else "") + " - |",
    ]
    for r in results:
        lines.append(f"| {r['label']} | {r['n']:,} | {r['conns']} | {r['rps']:.0f} | {r['rps'] / hr:.2f} | {r['p50']} | {r['p99']} | {r['errors']} | {us(r['cpu_us'])} | {busy(r['busy'])} |"
                     + (f" {us(r['pg_us'])} |" if pg else "") + f" {mib(r['rss'])} |")
    if "both" in hello:
        a, b = hello["both"]
        lines += ["", f"hello-world was measured at the start and at the end of the section: {a:.0f} and {b:.0f} req/s; "
                  "the row above and every ratio use the higher."]
    lines.append("")
    return "\n".join(lines)


def targets(_report):
    lines = ["#### Against the targets (this run)", ""]
    for backend, results, hello in SUMMARY:
        if not results:
            continue
        by = {(r["kind"], r["n"], r["conns"]): r for r in results}
        sizes = sorted({r["n"] for r in results})
        for n in sizes:
            r = by[("direct", n, 32)]
            ratio = r["rps"] / hello["rps"]
            free = by[("nosql", n, 32)]["rps"]
            cpu_ratio = hello["cpu_us"] / r["cpu_us"] if hello["cpu_us"] and r["cpu_us"] else float("nan")
            lines.append(f"- {backend}, {n:,} tuples: direct checks {r['rps']:.0f} req/s = {ratio:.2f} of hello-world's {hello['rps']:.0f} (target >= 0.30): "
                         f"{'met' if ratio >= 0.30 else 'MISSED'}; by server CPU per request {cpu_ratio:.2f} ({'met' if cpu_ratio >= 0.30 else 'MISSED'}); "
                         f"a check that runs no SQL does {free:.0f} req/s = {free / hello['rps']:.2f}")
            if hello["busy"] is not None and hello["busy"] < 0.9:
                lines.append(f"  - hello-world kept CPU 0 only {hello['busy'] * 100:.0f}% busy: wrk, not the server, was the limit, so the req/s ratio flatters; trust the CPU ratio")
        if backend == "sqlite":
            for n in sizes:
                for conns in (1, 4, 32):
                    r = by[("deep", n, conns)]
                    lines.append(f"- sqlite, {n:,} tuples, {conns} connection{'s' if conns > 1 else ''}: three-level traverse p99 {r['p99']} (target < 5 ms): {'met' if ms(r['p99']) < 5 else 'MISSED'}")
        if len(sizes) >= 2:
            lo, hi = sizes[0], sizes[-1]
            for conns in (1, 4, 32):
                a, b = ms(by[("deep", lo, conns)]["p50"]), ms(by[("deep", hi, conns)]["p50"])
                lines.append(f"- {backend}, {conns} connection{'s' if conns > 1 else ''}: three-level traverse p50 {b:.2f} ms at {hi:,} vs {a:.2f} ms at {lo:,} = {b / a:.2f}x (target <= 1.5x): {'met' if b / a <= 1.5 else 'MISSED'}")
    lines.append("")
    return "\n".join(lines) if len(lines) > 3 else ""


if __name__ == "__main__":
    main()
