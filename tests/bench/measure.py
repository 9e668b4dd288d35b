"""Runs the timed parts of `make bench` and prints the table (see read_bench.sh)."""
import json
import os
import subprocess
import sys
import time

out_dir, size = sys.argv[1], sys.argv[2]
BACKFILL = "./target/release/backfill"
LIMIT = "./target/release/examples/decompress_limit"


def run_docs(repo, extra):
    """Wall seconds of one `snapshot docs` run into /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run([BACKFILL, "snapshot", "docs", "--repo", repo, "--snapshot", "bench", *extra],
                       stdout=null, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def peak_rss(repo, extra):
    """Peak RSS (KiB) of one run, measured in a fresh interpreter: a process's ru_maxrss of
    children is the largest child so far, so each run needs its own parent."""
    code = ("import resource,subprocess,os,sys;"
            "subprocess.run(sys.argv[1:],stdout=open(os.devnull,'wb'),stderr=subprocess.DEVNULL,check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, BACKFILL, "snapshot", "docs", "--repo", repo,
                        "--snapshot", "bench", *extra], capture_output=True, text=True, check=True)
    return int(r.stdout.strip())


VARIANTS = (("fast", "LZ4"), ("best", "DEFLATE"), ("zstd", "ZSTD"))

rows = []
for mode, codec in VARIANTS:
    repo = f"{out_dir}/repo-{mode}-{size}"
    summary = json.load(open(f"{repo}/.from"))
    docs, src = summary["docs"], summary["source_bytes"]
    limit = json.loads(subprocess.run([LIMIT, repo, "bench"], capture_output=True, text=True,
                                      check=True).stdout)
    limit_mb_s = limit["decompressed_bytes"] / 1e6 / limit["seconds"]
    for label, extra in (("verified", []), ("--no-verify", ["--no-verify"])):
        run_docs(repo, extra)  # warm the page cache
        best = min(run_docs(repo, extra) for _ in range(3))
        rows.append({
            "codec": codec, "mode": label, "docs": docs, "source_mb": src / 1e6,
            "seconds": best, "docs_per_s": docs / best, "mb_per_s": src / 1e6 / best,
            "peak_rss_mib": peak_rss(repo, extra) / 1024,
            "limit_mb_per_s": limit_mb_s, "ratio": (src / 1e6 / best) / limit_mb_s,
            "segments": summary["segments"], "fdt_mb": summary["fdt_bytes"] / 1e6,
        })

cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
print(f"\nRead benchmark: `backfill snapshot docs > /dev/null`, {os.cpu_count()} cores ({cpu})")
verified = [r for r in rows if r["mode"] == "verified"]
# the variants hold the same documents (same seeds); only the stored-fields codec differs
if len({(r["docs"], r["source_mb"]) for r in verified}) != 1:
    sys.exit("the variants do not hold the same documents: "
             + ", ".join(f"{r['codec']} {r['docs']} docs / {r['source_mb']:.3f} MB" for r in verified))
print(f"{rows[0]['docs']:,} documents, {rows[0]['source_mb']:.0f} MB of _source per variant "
      f"({' / '.join(str(r['segments']) for r in verified)} segments: {' / '.join(r['codec'] for r in verified)})\n")
head = ("| stored fields | checksums | docs/s | MB/s of _source | peak RSS | codec alone (limit) | of the limit |\n"
        "|---|---|---:|---:|---:|---:|---:|")
print(head)
for r in rows:
    print(f"| {r['codec']} ({r['fdt_mb']:.0f} MB .fdt) | {r['mode']} | {r['docs_per_s']:,.0f} | "
          f"{r['mb_per_s']:,.0f} | {r['peak_rss_mib']:.0f} MiB | {r['limit_mb_per_s']:,.0f} MB/s | "
          f"{100 * r['ratio']:.0f}% |")
print("\nTargets: ≥ 50% of the limit, peak RSS ≤ 256 MiB.")
ok = all(r["ratio"] >= 0.5 and r["peak_rss_mib"] <= 256 for r in rows if r["mode"] == "verified")
print("Met." if ok else "NOT met.")
