"""Sub-shard ranges in `make bench`: the bench snapshot's one shard (1 GiB of ~2.4 KB documents in
several segments) read by 1 worker as a whole, then split into 4 ranges read by 4 workers at once,
into a loopback `_bulk` sink that discards the documents. Work items in DynamoDB Local, the snapshot
in emulated S3 (gofakes3 unless BENCH_S3 says s3s-fs or moto). Prints elapsed time and the workers' CPU time for both.

Usage: range_bench.py <repo dir> <documents in the shard>
"""
import json
import os
import resource
import subprocess
import sys
import time

repo, shard_docs = sys.argv[1], int(sys.argv[2])
REL = "./target/release"
S3 = os.environ.get("BENCH_S3", "gofakes3")
RANGES = 4


def start(cmd, count):
    """Starts a helper that prints `count` lines and lives until its stdin closes."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p, [p.stdout.readline().strip() for _ in range(count)]


servers, lines = start([f"{REL}/harness-servers", "dynamodb", S3], 3)
info = {j["server"]: j for j in map(json.loads, lines[:2])}
s3 = info[S3]
sink, sink_lines = start([f"{REL}/fault-proxy", "--sink"], 1)
env = dict(os.environ, AWS_ENDPOINT_URL_DYNAMODB=info["dynamodb"]["endpoint"],
           AWS_ENDPOINT_URL_S3=s3["endpoint"], AWS_ACCESS_KEY_ID=s3.get("access_key_id", "AKIDLOCAL"),
           AWS_SECRET_ACCESS_KEY=s3.get("secret_access_key", "local"), AWS_REGION="us-east-1")


def run(backfill, workers, split_docs):
    """Seeds a backfill of the bench snapshot, runs `workers` workers at once to the end."""
    subprocess.run([f"{REL}/seed-backfill", "--dynamodb", info["dynamodb"]["endpoint"], "--s3",
                    s3["endpoint"], "--repo", repo, "--snapshot", "bench", "--backfill", backfill,
                    "--target", sink_lines[0], "--create-missing-indices", "--split-docs", str(split_docs)],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    procs = [subprocess.Popen([f"{REL}/backfill-worker", "--backfill-id", backfill, "--worker-id", f"w{i}",
                               "--idle-poll-seconds", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(workers)]
    errs = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    docs, items = 0, 0
    for p, err in zip(procs, errs):
        if p.returncode != 0:
            sys.exit(f"worker failed:\n{err}")
        done = next(json.loads(l) for l in err.splitlines() if '"worker done"' in l)["fields"]
        docs += done["docs"]
        items += done["items_completed"]
    return {"wall": wall, "cpu": cpu, "docs": docs, "items": items}


try:
    whole = run("range-whole", 1, 0)
    split = run("range-split", RANGES, -(-shard_docs // RANGES))
finally:
    servers.stdin.close()
    sink.stdin.close()
    servers.wait()
    sink.wait()

print(f"\nSub-shard ranges: one shard of {shard_docs:,} documents (1 GiB of _source), S3 emulator {S3}, "
      f"into a discarding `_bulk` sink; on {os.cpu_count()} cores")
print("| run | work items | docs | seconds | docs/s | workers' CPU-s | docs per CPU-s | speed-up |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, r in [("1 worker, the shard whole", whole), (f"{RANGES} workers, {RANGES} ranges", split)]:
    print(f"| {name} | {r['items']} | {r['docs']:,} | {r['wall']:.1f} | {r['docs'] / r['wall']:,.0f} | "
          f"{r['cpu']:.1f} | {r['docs'] / max(r['cpu'], 1e-9):,.0f} | {whole['wall'] / r['wall']:.2f}x |")
print(f"(On {os.cpu_count()} cores the elapsed speed-up is bounded by the cores the workers, the S3 emulator and "
      "the sink share; the CPU-s column shows what splitting costs: the same work, spread.)")
for name, r in [("whole", whole), ("split", split)]:
    if r["docs"] != shard_docs:
        sys.exit(f"range bench ({name}): {r['docs']:,} documents sent, the shard holds {shard_docs:,}")
