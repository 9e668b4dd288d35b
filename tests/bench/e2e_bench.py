"""End-to-end figures of `make bench`: one worker reads the bench snapshot from emulated S3 (the
harness's gofakes3, a Go server over a folder from the Go module proxy, so that the worker and not
the emulator sets the pace; the row gives the emulator's CPU per worker CPU-second) and sends it to a
loopback `_bulk` sink that discards it, then to a real OpenSearch 2.19 node (the default target), then
through a fault proxy that admits a quarter of the sink's rate; the work items live in DynamoDB Local.
Prints docs/s, MB/s, documents per worker CPU-second, peak RSS, the documents found in the real node,
the slow target's admitted rate and 429s, and the DynamoDB requests per shard and per checkpoint.

Usage: e2e_bench.py <repo dir> <read-only MB/s for comparison>

BENCH_S3=moto or BENCH_S3=s3s-fs reads from moto (Python) or s3s-fs (Rust, crates.io; installed by
tests/harness/install-s3s-fs.sh) instead, for comparison;
BENCH_REAL_TARGET=0 leaves out the real OpenSearch node;
BENCH_SLOW_CAPACITY=<bytes/s> fixes the slow target's capacity (default: a quarter of the sink's rate);
BENCH_BASELINE_WORKER=<path of another backfill-worker build> runs the slow target again with it, at
the same capacity, for a before/after comparison in one run.
"""
import json
import os
import re
import resource
import subprocess
import sys
import time

repo, read_mb_s = sys.argv[1], float(sys.argv[2])
REL = "./target/release"


def start(cmd, count, stderr=None):
    """Starts a helper that prints JSON/endpoint lines and lives until its stdin closes."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines = [p.stdout.readline().strip() for _ in range(count)]
    return p, lines


S3 = os.environ.get("BENCH_S3", "gofakes3")
S3_NAMES = {"gofakes3": "gofakes3 {version} (Go, fs backend)", "s3s-fs": "s3s-fs {version} (Rust, crates.io)",
            "moto": "moto 5.2.5 (Python)"}
if S3 not in S3_NAMES:
    sys.exit(f"BENCH_S3 is one of {', '.join(S3_NAMES)}, not {S3!r}")
REAL = os.environ.get("BENCH_REAL_TARGET", "1") != "0"
wanted = ["dynamodb", S3] + (["opensearch-2.19"] if REAL else [])
servers, lines = start([f"{REL}/harness-servers", *wanted], len(wanted) + 1)
info = {j["server"]: j for j in map(json.loads, lines[:len(wanted)])}
s3 = info[S3]
s3_name = S3_NAMES[S3].format(version=s3.get("version"))
node = info.get("opensearch-2.19")
sink, sink_lines = start([f"{REL}/fault-proxy", "--sink"], 1)
env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=info["dynamodb"]["endpoint"],
           AWS_ENDPOINT_URL_S3=s3["endpoint"], AWS_ACCESS_KEY_ID=s3.get("access_key_id", "AKIDLOCAL"),
           AWS_SECRET_ACCESS_KEY=s3.get("secret_access_key", "local"), AWS_REGION="us-east-1")
print(f"end to end: S3 emulator {s3_name} at {s3['endpoint']}", file=sys.stderr)


def cpu_seconds(pid):
    """User + system CPU seconds of a running process (and its reaped children: moto's workers)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run_worker(backfill, target, worker=f"{REL}/backfill-worker"):
    """Seeds a backfill of the bench snapshot into `target`, runs one worker to the end; the run
    also gives the S3 emulator's CPU seconds meanwhile."""
    t = time.perf_counter()
    subprocess.run([f"{REL}/seed-backfill", "--dynamodb", info["dynamodb"]["endpoint"], "--s3",
                    s3["endpoint"], "--repo", repo, "--snapshot", "bench", "--backfill", backfill,
                    "--target", target, "--create-missing-indices"], check=True, stdout=subprocess.DEVNULL)
    upload = time.perf_counter() - t
    s3_cpu = cpu_seconds(s3["pid"])
    code = ("import resource,subprocess,sys,time,os;t=time.perf_counter();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
            "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'rc':r.returncode,'wall':time.perf_counter()-t,"
            "'rss':u.ru_maxrss,'cpu':u.ru_utime+u.ru_stime,'err':r.stderr}))")
    r = subprocess.run([sys.executable, "-c", "import json;" + code, worker, "--backfill-id", backfill],
                       env=env, capture_output=True, text=True, check=True)
    run = json.loads(r.stdout)
    run["s3_cpu"] = cpu_seconds(s3["pid"]) - s3_cpu
    if run["rc"] != 0:
        sys.exit(f"worker failed:\n{run['err']}")
    done = next(json.loads(l) for l in run["err"].splitlines() if '"worker done"' in l)["fields"]
    if done["items_failed"] or not done["docs"]:
        # A figure of a run that failed its items would be a figure of nothing.
        sys.exit(f"worker completed {done['items_completed']} and failed {done['items_failed']} item(s):\n"
                 + "\n".join(l for l in run["err"].splitlines() if '"item failed"' in l)[-3000:])
    return run, done, upload


def target_count(endpoint):
    """Top-level documents in the target after a refresh."""
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(endpoint + "/_refresh", method="POST")).read()
    return json.loads(urllib.request.urlopen(endpoint + "/_count").read())["count"]


try:
    rows = []
    targets = [("`_bulk` sink on loopback that discards the documents", "bench", sink_lines[0])]
    if REAL:
        targets.append((f"real OpenSearch {node['version']} (one JVM, 512 MiB heap, same machine)",
                        "bench-real", node["endpoint"]))
    for name, backfill, target in targets:
        run, done, upload = run_worker(backfill, target)
        rows.append((name, run, done, upload))
    landed = target_count(node["endpoint"]) if REAL else None
    # A slow target: the fault proxy in front of the sink lets through a quarter of the rate the
    # sink took (as `_bulk` body bytes per second) and answers 429 beyond, as a full write queue
    # does; the worker's adaptive limit has to find that rate.
    sink_run, sink_done = rows[0][1], rows[0][2]
    capacity = int(os.environ.get("BENCH_SLOW_CAPACITY") or sink_done["bytes"] / sink_run["wall"] / 4)
    workers = [("this build", f"{REL}/backfill-worker")]
    if os.environ.get("BENCH_BASELINE_WORKER"):
        workers.append(("baseline", os.environ["BENCH_BASELINE_WORKER"]))
    slow_rows = []
    for n, (label, worker) in enumerate(workers):
        slow, slow_lines = start([f"{REL}/fault-proxy", "--upstream", sink_lines[0],
                                  "--capacity-bytes-per-sec", str(capacity)], 1, stderr=subprocess.PIPE)
        slow_run, slow_done, _ = run_worker(f"bench-slow-{n}", slow_lines[0], worker)
        slow.stdin.close()
        counts = slow.stderr.read()
        slow.wait()
        field = lambda name: int(re.search(name + r": (\d+)", counts).group(1))
        slow_counts = {k: field(k) for k in ("bulk_requests", "over_capacity", "bytes_admitted")}
        slow_rows.append((label, slow_run, slow_done, slow_counts))

finally:
    servers.stdin.close()
    sink.stdin.close()
    servers.wait()
    sink.wait()

print(f"\nEnd to end: one worker, snapshot in emulated S3 ({s3_name}), work items in DynamoDB Local, into each target")
print("| target | docs | MB of _source | seconds | docs/s | MB/s | docs per worker CPU-s | worker CPU busy | S3 emulator CPU-s per worker CPU-s | peak RSS | read-only MB/s (above) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, run, done, _ in rows:
    docs, mb, wall = done["docs"], done["bytes"] / 1e6, run["wall"]
    print(f"| {name} | {docs:,} | {mb:,.0f} | {wall:.1f} | {docs / wall:,.0f} | {mb / wall:,.0f} | "
          f"{docs / max(run['cpu'], 1e-9):,.0f} | {run['cpu'] / wall:.0%} | {run['s3_cpu'] / max(run['cpu'], 1e-9):.2f} | "
          f"{run['rss'] / 1024:.0f} MiB | {read_mb_s:,.0f} |")
sink_docs, sink_cpu = rows[0][2]["docs"], rows[0][1]["cpu"]
print(f"\nThe goal of 100,000 documents/s per worker on 2 vCPUs is 50,000 documents per worker CPU-second: "
      f"{sink_docs / max(sink_cpu, 1e-9):,.0f} into the sink = {sink_docs / max(sink_cpu, 1e-9) / 50_000:.2f}x that "
      f"({'met' if sink_docs / max(sink_cpu, 1e-9) >= 50_000 else 'NOT met'}); wall-clock docs/s depend on what else "
      f"shares the 2 cores (the emulators, the sink, other work on the machine: load {os.getloadavg()[0]:.1f} now).")
if REAL:
    sink_run, real_run = rows[0][1], rows[1][1]
    print(f"\nThe real node took {real_run['wall'] / sink_run['wall']:.1f}x the sink's time (it indexes on the same 2 cores "
          f"the worker and the emulators use); {landed:,} documents counted in it afterwards "
          f"({'all' if landed == rows[1][2]['docs'] else 'NOT all'} of the {rows[1][2]['docs']:,} sent).")
print(f"\nA slow target: the fault proxy in front of the sink admits {capacity / 1e6:,.1f} MB/s of `_bulk` bodies "
      f"({'BENCH_SLOW_CAPACITY' if os.environ.get('BENCH_SLOW_CAPACITY') else 'a quarter of the sink rate'}; a token "
      f"bucket holding one second of it, full at the start) and answers 429 beyond, as a full write queue does. "
      f"'Of the capacity' is the bytes admitted over what the capacity allows in the run (its rate for the run's "
      f"seconds, plus the second's worth it starts with).")
print("| worker | docs | seconds | MB/s admitted | of the capacity | bulk requests | answered 429 | share 429 | docs lost |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, slow_run, slow_done, c in slow_rows:
    w = slow_run["wall"]
    print(f"| {label} | {slow_done['docs']:,} | {w:.1f} | {c['bytes_admitted'] / w / 1e6:,.1f} | "
          f"{c['bytes_admitted'] / (capacity * (w + 1)):.0%} | {c['bulk_requests']:,} | {c['over_capacity']:,} | "
          f"{c['over_capacity'] / max(c['bulk_requests'], 1):.0%} | {rows[0][2]['docs'] - slow_done['docs']:,} |")
name, run, done, upload = rows[0]
print(f"\nDynamoDB requests: {done['dynamodb_requests']} for {done['items_completed']} shard(s) "
      f"({done['dynamodb_requests'] / max(done['items_completed'], 1):.0f} per shard); {done['checkpoints']} checkpoints, "
      f"1 request each (a TransactWriteItems of the item and the counters); the rest: reading the backfill, "
      f"the claim (1 index query + 1 conditional update), the completion, and the final claim that finds nothing open "
      f"(one query per index bucket + the counters). Snapshot upload to {s3_name}: {upload:.0f} s.")
