#!/usr/bin/env python3
"""Like generate.py, for indices whose `_source` is not stored (Elasticsearch 8.19 / 9.5): the
node's synthetic `_source` of every live document is the ground truth of a rebuilt one.

    python3 generate_synthetic.py --url http://127.0.0.1:9200 --repo-dir <path.repo> --out <folder>

Same output layout as generate.py (repos/, truth/, engine.json), one snapshot (snap-1). Indices,
each with every field type below (keyword, long, integer, short, byte, double, float, half_float,
date in three formats, boolean, ip, text stored, text with a keyword sub-field,
objects, dotted keys, arrays with duplicates):
  synthetic      `index.mapping.source.mode: synthetic`, 2 segments, deletes, updates
  logsdb         `index.mode: logsdb` (synthetic source, sorted by host.name and @timestamp)
  disabled       `_source: {enabled: false}`; its truth (truth/snap-1.twins.ndjson) is what the node
                 returns for the same documents in `disabled-twin`, a synthetic-source index of the
                 same mapping, since a node returns no `_source` at all for this one
`unsigned_long` (x-pack) and `scaled_float` (mapper-extras) are not on these nodes' class path.
The documents sent are kept too (truth/snap-1.sent.ndjson), to show what synthesis changed.
"""

import argparse
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as g  # noqa: E402  (the shared node client, truth and snapshot helpers)

SEED = 20261209

PROPERTIES = {
    "@timestamp": {"type": "date"},
    "kw": {"type": "keyword"},
    "tags": {"type": "keyword"},
    "count": {"type": "long"},
    "int": {"type": "integer"},
    "small": {"type": "short"},
    "tiny": {"type": "byte"},
    "price": {"type": "double"},
    "ratio": {"type": "float"},
    "half": {"type": "half_float"},
    "flag": {"type": "boolean"},
    "addr": {"type": "ip"},
    "day": {"type": "date", "format": "yyyy-MM-dd"},
    "millis": {"type": "date", "format": "epoch_millis"},
    "nums": {"type": "long"},
    "msg": {"type": "text", "store": True},
    "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
    "host": {"properties": {"name": {"type": "keyword"}, "port": {"type": "integer"}}},
}


def doc(rng, i):
    d = {
        "@timestamp": f"2026-12-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z",
        "kw": rng.choice(g.WORDS + g.UNICODE),
        "tags": [rng.choice(g.WORDS[:4]) for _ in range(i % 5)],
        "count": rng.randint(-2**63, 2**63 - 1) if i % 3 == 0 else rng.randint(-1000, 1000),
        "int": rng.randint(-2**31, 2**31 - 1),
        "small": rng.randint(-32768, 32767),
        "tiny": rng.randint(-128, 127),
        "price": rng.choice([round(rng.uniform(-1e6, 1e6), 4), 1e-7 * rng.random(), float(i), 1.5e300]),
        "ratio": rng.uniform(-10, 10),
        "half": round(rng.uniform(-100, 100), 3),
        "flag": rng.random() < 0.5,
        "addr": rng.choice([f"10.{i % 256}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                            f"2001:db8::{rng.randint(1, 0xffff):x}", "::ffff:192.168.0.1"]),
        "day": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "millis": rng.randint(0, 2_000_000_000_000),
        "nums": [rng.randint(-5, 5) for _ in range(i % 4)],
        "msg": " ".join(rng.choice(g.WORDS) for _ in range(1 + i % 6)),
        "title": rng.choice(g.WORDS) + f" {i}",
        "host": {"name": f"host-{i % 7}", "port": 8000 + i % 50},
    }
    # Some documents leave fields out, some give one value as a one-element array, some use a
    # dotted key for an object field, a number as a string, a boolean as a string.
    for k in sorted(d):
        if k != "@timestamp" and rng.random() < 0.1:
            del d[k]
    if i % 6 == 1 and "host" in d:
        host = d.pop("host")
        d["host.name"] = host["name"]
        d["host.port"] = host["port"]
    if i % 9 == 2:
        d["kw"] = [d.get("kw", "x")]
    if i % 10 == 3:
        d["int"] = str(rng.randint(0, 99))
    if i % 10 == 4:
        d["flag"] = "true"
    return g.compact(d)


def fill(node, rng, name, count, twin=None):
    sent = {}
    targets = [name] + ([twin] if twin else [])
    for batch in range(2):  # one segment per batch
        docs = [(f"{name}-{k}", None, doc(rng, k)) for k in range(batch * count // 2, (batch + 1) * count // 2)]
        for t in targets:
            g.bulk(node, t, docs)
            g.refresh(node, t)
        sent.update({d[0]: d[2] for d in docs})
    replaced = [(f"{name}-{k}", None, doc(rng, 1000 + k)) for k in range(0, count, 13)]
    for t in targets:
        g.bulk(node, t, replaced)
    sent.update({d[0]: d[2] for d in replaced})
    for k in range(2, count, 19):
        for t in targets:
            g.delete_doc(node, t, f"{name}-{k}")
        sent.pop(f"{name}-{k}", None)
    for t in targets:
        g.refresh(node, t)
    return sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--repo-dir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    node = g.Node(args.url)
    info = node.json("GET", "/")
    version = info["version"]["number"]
    repos = {"plain": {"type": "fs", "settings": {"location": os.path.join(args.repo_dir, "plain")}}}
    for name, body in repos.items():
        node.json("PUT", f"/_snapshot/{name}", body)

    rng = random.Random(SEED)
    os.makedirs(args.out, exist_ok=True)
    sent = {}
    g.create(node, "synthetic", 1, settings={"mapping.source.mode": "synthetic"},
             mappings={"properties": PROPERTIES})
    sent["synthetic"] = fill(node, rng, "synthetic", 160)
    g.create(node, "logsdb", 1, settings={"mode": "logsdb"}, mappings={"properties": PROPERTIES})
    sent["logsdb"] = fill(node, rng, "logsdb", 120)
    g.create(node, "disabled", 1, mappings={"_source": {"enabled": False}, "properties": PROPERTIES})
    g.create(node, "disabled-twin", 1, settings={"mapping.source.mode": "synthetic"},
             mappings={"properties": PROPERTIES})
    sent["disabled"] = fill(node, rng, "disabled", 80, twin="disabled-twin")

    docs, summary = g.truth(node, g.Corpus())
    g.snapshot_all(node, repos, "snap-1")
    twins = {d["id"]: d["source"] for d in docs if d["index"] == "disabled-twin"}
    g.write_truth(args.out, "snap-1", docs, summary)
    tdir = os.path.join(args.out, "truth")
    with open(os.path.join(tdir, "snap-1.twins.ndjson"), "w", encoding="utf-8") as f:
        for doc_id in sorted(twins):
            f.write(g.compact({"index": "disabled", "id": doc_id, "source": twins[doc_id]}) + "\n")
    with open(os.path.join(tdir, "snap-1.sent.ndjson"), "w", encoding="utf-8") as f:
        for index in sorted(sent):
            for doc_id in sorted(sent[index]):
                f.write(g.compact({"index": index, "id": doc_id, "source": sent[index][doc_id]}) + "\n")

    for name in repos:
        shutil.copytree(os.path.join(args.repo_dir, name), os.path.join(args.out, "repos", name))
    with open(os.path.join(args.out, "engine.json"), "w") as f:
        json.dump({"engine": "elasticsearch", "version": version,
                   "lucene_version": info["version"].get("lucene_version"),
                   "repositories": sorted(repos), "snapshots": ["snap-1"]}, f, indent=1)
    print(f"generate_synthetic: elasticsearch {version}: snapshot snap-1", file=sys.stderr)


if __name__ == "__main__":
    main()
