"""End-to-end figure of `make bench`: one worker reads the bench snapshot from emulated S3 (moto)
and sends it to a loopback `_bulk` sink that discards it; the work items live in DynamoDB Local.
Prints docs/s, MB/s, peak RSS and the DynamoDB requests per shard and per checkpoint.

Usage: e2e_bench.py <repo dir> <read-only MB/s for comparison>
"""
import json
import os
import resource
import subprocess
import sys
import time

repo, read_mb_s = sys.argv[1], float(sys.argv[2])
REL = "./target/release"


def start(cmd, count):
    """Starts a helper that prints JSON/endpoint lines and lives until its stdin closes."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = [p.stdout.readline().strip() for _ in range(count)]
    return p, lines


servers, lines = start([f"{REL}/harness-servers", "dynamodb", "moto"], 3)
info = {j["server"]: j["endpoint"] for j in map(json.loads, lines[:2])}
sink, sink_lines = start([f"{REL}/fault-proxy", "--sink"], 1)
sink_endpoint = sink_lines[0]
try:
    t = time.perf_counter()
    subprocess.run([f"{REL}/seed-backfill", "--dynamodb", info["dynamodb"], "--s3", info["moto"], "--repo", repo,
                    "--snapshot", "bench", "--backfill", "bench", "--target", sink_endpoint,
                    "--create-missing-indices"], check=True, stdout=subprocess.DEVNULL)
    upload = time.perf_counter() - t
    env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=info["dynamodb"], AWS_ENDPOINT_URL_S3=info["moto"],
               AWS_ACCESS_KEY_ID="AKIDLOCAL", AWS_SECRET_ACCESS_KEY="local", AWS_REGION="us-east-1")
    code = ("import resource,subprocess,sys,time,os;t=time.perf_counter();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE,text=True);"
            "print(json.dumps({'rc':r.returncode,'wall':time.perf_counter()-t,"
            "'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,'err':r.stderr}))")
    r = subprocess.run([sys.executable, "-c", "import json;" + code, f"{REL}/backfill-worker", "--backfill-id", "bench"],
                       env=env, capture_output=True, text=True, check=True)
    run = json.loads(r.stdout)
    if run["rc"] != 0:
        sys.exit(f"worker failed:\n{run['err']}")
    done = next(json.loads(l) for l in run["err"].splitlines() if '"worker done"' in l)["fields"]
finally:
    servers.stdin.close()
    sink.stdin.close()
    servers.wait()
    sink.wait()

docs, mb = done["docs"], done["bytes"] / 1e6
wall = run["wall"]
print("\nEnd to end: one worker, snapshot in emulated S3 (moto) → `_bulk` sink on loopback that discards "
      "the documents; work items in DynamoDB Local")
print("| docs | MB of _source | seconds | docs/s | MB/s | peak RSS | read-only MB/s (above) |")
print("|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {docs:,} | {mb:,.0f} | {wall:.1f} | {docs / wall:,.0f} | {mb / wall:,.0f} | {run['rss'] / 1024:.0f} MiB | {read_mb_s:,.0f} |")
print(f"\nDynamoDB requests: {done['dynamodb_requests']} for {done['items_completed']} shard(s) "
      f"({done['dynamodb_requests'] / max(done['items_completed'], 1):.0f} per shard); {done['checkpoints']} checkpoints, "
      f"1 request each (a TransactWriteItems of the item and the counters); the rest: reading the backfill, "
      f"the claim (1 index query + 1 conditional update), the completion, and the final claim that finds nothing open "
      f"(one query per index bucket + the counters). Snapshot upload to moto: {upload:.0f} s.")
