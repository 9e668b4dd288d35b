"""End-to-end figures of `make bench`: one worker reads the bench snapshot from emulated S3 (moto)
and sends it to a loopback `_bulk` sink that discards it, then to a real OpenSearch 2.19 node (the
default target); the work items live in DynamoDB Local. Prints docs/s, MB/s, documents per worker
CPU-second, peak RSS, the documents found in the real node, and the DynamoDB requests per shard and per
checkpoint.

Usage: e2e_bench.py <repo dir> <read-only MB/s for comparison>
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


servers, lines = start([f"{REL}/harness-servers", "dynamodb", "moto", "opensearch-2.19"], 4)
info = {j["server"]: j for j in map(json.loads, lines[:3])}
node = info["opensearch-2.19"]
sink, sink_lines = start([f"{REL}/fault-proxy", "--sink"], 1)
env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=info["dynamodb"]["endpoint"],
           AWS_ENDPOINT_URL_S3=info["moto"]["endpoint"], AWS_ACCESS_KEY_ID="AKIDLOCAL",
           AWS_SECRET_ACCESS_KEY="local", AWS_REGION="us-east-1")


def run_worker(backfill, target):
    """Seeds a backfill of the bench snapshot into `target`, runs one worker to the end."""
    t = time.perf_counter()
    subprocess.run([f"{REL}/seed-backfill", "--dynamodb", info["dynamodb"]["endpoint"], "--s3",
                    info["moto"]["endpoint"], "--repo", repo, "--snapshot", "bench", "--backfill", backfill,
                    "--target", target, "--create-missing-indices"], check=True, stdout=subprocess.DEVNULL)
    upload = time.perf_counter() - t
    code = ("import resource,subprocess,sys,time,os;t=time.perf_counter();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
            "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'rc':r.returncode,'wall':time.perf_counter()-t,"
            "'rss':u.ru_maxrss,'cpu':u.ru_utime+u.ru_stime,'err':r.stderr}))")
    r = subprocess.run([sys.executable, "-c", "import json;" + code, f"{REL}/backfill-worker", "--backfill-id", backfill],
                       env=env, capture_output=True, text=True, check=True)
    run = json.loads(r.stdout)
    if run["rc"] != 0:
        sys.exit(f"worker failed:\n{run['err']}")
    done = next(json.loads(l) for l in run["err"].splitlines() if '"worker done"' in l)["fields"]
    return run, done, upload


def target_count(endpoint):
    """Top-level documents in the target after a refresh."""
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(endpoint + "/_refresh", method="POST")).read()
    return json.loads(urllib.request.urlopen(endpoint + "/_count").read())["count"]


try:
    rows = []
    for name, backfill, target in [("`_bulk` sink on loopback that discards the documents", "bench", sink_lines[0]),
                                   (f"real OpenSearch {node['version']} (one JVM, 512 MiB heap, same machine)",
                                    "bench-real", node["endpoint"])]:
        run, done, upload = run_worker(backfill, target)
        rows.append((name, run, done, upload))
    landed = target_count(node["endpoint"])
    # A slow target: the fault proxy in front of the sink lets through a quarter of the rate the
    # sink took (as `_bulk` body bytes per second) and answers 429 beyond, as a full write queue
    # does; the worker's adaptive limit has to find that rate.
    sink_run, sink_done = rows[0][1], rows[0][2]
    capacity = int(sink_done["bytes"] / sink_run["wall"] / 4)
    slow, slow_lines = start([f"{REL}/fault-proxy", "--upstream", sink_lines[0],
                              "--capacity-bytes-per-sec", str(capacity)], 1, stderr=subprocess.PIPE)
    slow_run, slow_done, _ = run_worker("bench-slow", slow_lines[0])
    slow.stdin.close()
    counts = slow.stderr.read()
    slow.wait()
    field = lambda name: int(re.search(name + r": (\d+)", counts).group(1))
    slow_counts = {k: field(k) for k in ("bulk_requests", "over_capacity", "bytes_admitted")}

finally:
    servers.stdin.close()
    sink.stdin.close()
    servers.wait()
    sink.wait()

print("\nEnd to end: one worker, snapshot in emulated S3 (moto), work items in DynamoDB Local, into each target")
print("| target | docs | MB of _source | seconds | docs/s | MB/s | docs per worker CPU-s | peak RSS | read-only MB/s (above) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, run, done, _ in rows:
    docs, mb, wall = done["docs"], done["bytes"] / 1e6, run["wall"]
    print(f"| {name} | {docs:,} | {mb:,.0f} | {wall:.1f} | {docs / wall:,.0f} | {mb / wall:,.0f} | "
          f"{docs / max(run['cpu'], 1e-9):,.0f} | {run['rss'] / 1024:.0f} MiB | {read_mb_s:,.0f} |")
sink_run, real_run = rows[0][1], rows[1][1]
print(f"\nThe real node took {real_run['wall'] / sink_run['wall']:.1f}x the sink's time (it indexes on the same 2 cores "
      f"the worker and the emulators use); {landed:,} documents counted in it afterwards "
      f"({'all' if landed == rows[1][2]['docs'] else 'NOT all'} of the {rows[1][2]['docs']:,} sent).")
w = slow_run["wall"]
print(f"\nA slow target (the fault proxy in front of the sink admits {capacity / 1e6:,.1f} MB/s of `_bulk` bodies, "
      f"a quarter of the sink's rate, and answers 429 beyond): {slow_done['docs']:,} documents in {w:.1f} s; "
      f"admitted {slow_counts['bytes_admitted'] / w / 1e6:,.1f} MB/s = {slow_counts['bytes_admitted'] / w / capacity:.0%} "
      f"of the capacity; {slow_counts['over_capacity']:,} of {slow_counts['bulk_requests']:,} bulk requests answered 429 "
      f"({slow_counts['over_capacity'] / max(slow_counts['bulk_requests'], 1):.0%}); nothing lost: {slow_done['docs']:,} of {rows[0][2]['docs']:,} documents sent.")
name, run, done, upload = rows[0]
print(f"\nDynamoDB requests: {done['dynamodb_requests']} for {done['items_completed']} shard(s) "
      f"({done['dynamodb_requests'] / max(done['items_completed'], 1):.0f} per shard); {done['checkpoints']} checkpoints, "
      f"1 request each (a TransactWriteItems of the item and the counters); the rest: reading the backfill, "
      f"the claim (1 index query + 1 conditional update), the completion, and the final claim that finds nothing open "
      f"(one query per index bucket + the counters). Snapshot upload to moto: {upload:.0f} s.")
