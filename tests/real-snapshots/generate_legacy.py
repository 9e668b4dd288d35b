#!/usr/bin/env python3
"""Drives a real Elasticsearch 1.7 or 2.4 node over HTTP to write `fs` snapshot repositories in the
1.x/2.x layout (mapping types, no index-N generations), and takes the ground truth from the node
at snapshot time. The same contract as generate.py (which speaks the typeless 5.x+ API):

    python3 generate_legacy.py --url http://127.0.0.1:9200 --repo-dir <the node's path.repo> --out <folder>

Written under --out:
  repos/<name>/              each repository: `plain`, and `compressed` (compress: true, files in
                             256 KiB `.partN` blobs)
  truth/<snapshot>.ndjson    every live document at that snapshot, sorted by (index, shard, type,
                             id): {"index","shard","type","id","routing","source"}; source is the
                             stored `_source` exactly as the node returns it
  truth/<snapshot>.indices.json  per index: shards, documents (`_count`), lucene_docs, source,
                             types (sorted)
  engine.json                the engine, its version, its Lucene version, the repositories and
                             the snapshots in the order they were taken; with --upgrade-from also
                             "upgraded": {"repository", "snapshots", "truth_of"}

--upgrade-from <repository written by 1.7> (2.x nodes only): copies that repository, registers it
as `upgraded` and takes `snap-4` into it, the node's indices as at snap-3 (truth: snap-3). The
result holds 1.x snapshots (`snapshot-<name>`) beside a 2.x one (`snap-<name>.dat`), in index
folders both wrote into: what a cluster upgraded from 1.7 to 2.4 leaves behind.

Covered: two mapping types in one index with one `_id` present in both, custom routing (and
`_routing: required`), full replacements, partial updates and deletes before a snapshot, several
segments per shard, documents over 256 KiB, `_source: {compress: true}` (LZF stored source, 1.x
only: 2.x removed the option), three snapshots in each repository with changes between them.
Every document is sent as an exact JSON string; those the node never rewrote must come back
byte-equal. Standard library only; deterministic content (seeded).
"""

import argparse
import json
import os
import random
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

SEED = 20261207
WORDS = ["alpha", "beta", "gamma", "delta", "kappa", "omega", "sigma", "tau", "zeta", "lambda"]
UNICODE = ["naïve café", "日本語のテキスト", "Ελληνικά", "emoji 🚀🔥👩‍💻", "combining e\u0301", "русский текст"]


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def q(s):
    return urllib.parse.quote(s, safe="")


class Node:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None, ok=(200, 201)):
        data = body.encode("utf-8") if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            text = e.read()
            if e.code in ok:
                return e.code, text
            raise SystemExit(f"generate: {method} {path} -> {e.code}: {text[:500]!r}")

    def json(self, method, path, body=None, ok=(200, 201)):
        if body is not None and not isinstance(body, str):
            body = compact(body)
        return json.loads(self.call(method, path, body, ok)[1])


class Corpus:
    """(index, type, id) -> the source string sent and still expected byte-equal."""

    def __init__(self):
        self.sent = {}

    def put(self, index, docs):
        for doc_type, doc_id, _routing, source in docs:
            self.sent[(index, doc_type, doc_id)] = source

    def rewritten(self, index, doc_type, doc_id):
        self.sent.pop((index, doc_type, doc_id), None)


def create(node, name, shards, mappings, settings=None):
    s = {"number_of_shards": shards, "number_of_replicas": 0, "refresh_interval": -1}
    s.update(settings or {})
    node.json("PUT", "/" + name, {"settings": {"index": s}, "mappings": mappings})


def bulk(node, index, docs, corpus):
    """docs: (type, id, routing, source string); 200 per request."""
    for start in range(0, len(docs), 200):
        lines = []
        for doc_type, doc_id, routing, source in docs[start:start + 200]:
            action = {"_index": index, "_type": doc_type, "_id": doc_id}
            if routing is not None:
                action["_routing"] = routing
            lines.append(compact({"index": action}))
            lines.append(source)
        out = json.loads(node.call("POST", "/_bulk", "\n".join(lines) + "\n")[1])
        if out.get("errors"):
            bad = [it for it in out["items"] if it["index"].get("error")][:3]
            raise SystemExit(f"generate: bulk into {index} rejected documents: {bad}")
    corpus.put(index, docs)


def refresh(node, index):
    node.call("POST", f"/{index}/_refresh")


def delete(node, index, doc_type, doc_id, corpus, routing=None):
    r = "?routing=" + q(routing) if routing else ""
    # 404: deleted before (the ranges of deletes overlap on purpose).
    node.call("DELETE", f"/{index}/{doc_type}/{q(doc_id)}{r}", ok=(200, 404))
    corpus.rewritten(index, doc_type, doc_id)


def update(node, index, doc_type, doc_id, patch, corpus, routing=None):
    r = "?routing=" + q(routing) if routing else ""
    node.json("POST", f"/{index}/{doc_type}/{q(doc_id)}/_update{r}", {"doc": patch})
    corpus.rewritten(index, doc_type, doc_id)


def event(rng, i):
    doc = {"@timestamp": f"2015-06-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
           "level": rng.choice(["INFO", "WARN", "ERROR"]),
           "message": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))),
           "bytes": rng.randint(0, 10**9), "ok": rng.random() < 0.8}
    # Pretty-printed now and then: the stored bytes keep the whitespace (newlines are escaped
    # away by bulk's line framing, so only spaces).
    return compact(doc) if i % 3 else json.dumps(doc, ensure_ascii=False, separators=(" , ", " : "))


def big(rng, i, size):
    # Random hex: stored-field compression cannot shrink it below half, so the segment's files
    # outgrow the 256 KiB chunk size.
    return compact({"n": i, "body": f"{rng.getrandbits(size * 4):0{size}x}", "after": "the end"})


def build_first(node, rng, corpus, legacy_1x):
    # catalog: two mapping types; "shared-*" ids live in both types (distinct documents).
    create(node, "catalog", 3, {"book": {"properties": {"title": {"type": "string"}}},
                                "film": {"properties": {"title": {"type": "string"}, "year": {"type": "integer"}}}})
    books = [("book", f"b-{k}", None, compact({"title": f"{rng.choice(WORDS)} {k}", "pages": k * 3}))
             for k in range(150)]
    films = [("film", f"f-{k}", f"studio-{k % 5}" if k % 2 else None,
              compact({"title": rng.choice(UNICODE), "year": 1950 + k % 60})) for k in range(120)]
    shared = [(t, f"shared-{k}", None, compact({"kind": t, "k": k})) for k in range(4) for t in ("book", "film")]
    bulk(node, "catalog", books[:80] + films[:60], corpus)
    refresh(node, "catalog")  # a second segment per shard after this
    bulk(node, "catalog", books[80:] + films[60:] + shared, corpus)
    bulk(node, "catalog", [("book", f"b-{k}", None, compact({"title": "replaced", "k": k})) for k in range(0, 150, 11)],
         corpus)
    for k in range(3, 150, 13):
        update(node, "catalog", "book", f"b-{k}", {"patched": True}, corpus)
    for k in range(1, 120, 17):
        delete(node, "catalog", "film", f"f-{k}", corpus, routing=f"studio-{k % 5}" if k % 2 else None)
    delete(node, "catalog", "film", "shared-0", corpus)  # the book "shared-0" stays
    update(node, "catalog", "film", "shared-1", {"patched": "film only"}, corpus)
    refresh(node, "catalog")

    # logs: one type, several segments, a few documents over 256 KiB (files in .partN blobs).
    create(node, "logs", 2, {"event": {"properties": {"level": {"type": "string", "index": "not_analyzed"}}}})
    for batch in range(4):
        bulk(node, "logs", [("event", f"log-{batch * 100 + k}", None, event(rng, batch * 100 + k)) for k in range(100)],
             corpus)
        refresh(node, "logs")
    bulk(node, "logs", [("event", f"big-{k}", None, big(rng, k, size)) for k, size in enumerate([400_000, 700_000])],
         corpus)
    for k in range(7, 400, 19):
        delete(node, "logs", "event", f"log-{k}", corpus)
    refresh(node, "logs")

    # routed: routing required; many ids share a routing value.
    create(node, "routed", 4, {"item": {"_routing": {"required": True}}})
    docs = [("item", f"r-{k}", f"user-{k % 7}", compact({"user": k % 7, "seq": k})) for k in range(200)]
    bulk(node, "routed", docs, corpus)
    for k in range(0, 200, 23):
        delete(node, "routed", "item", f"r-{k}", corpus, routing=f"user-{k % 7}")
    refresh(node, "routed")

    if legacy_1x:
        # packed: LZF-compressed stored `_source` (1.x only; 2.0 removed the option).
        create(node, "packed", 2, {"doc": {"_source": {"compress": True}}})
        bulk(node, "packed", [("doc", f"p-{k}", None, event(rng, 5000 + k)) for k in range(120)], corpus)
        refresh(node, "packed")


def change_between(node, rng, corpus, step):
    if step == 2:
        bulk(node, "logs", [("event", f"log-{k}", None, event(rng, 20_000 + k)) for k in range(390, 450)], corpus)
        for k in range(2, 300, 31):
            delete(node, "logs", "event", f"log-{k}", corpus)
        refresh(node, "logs")
        create(node, "late", 1, {"note": {}})
        bulk(node, "late", [("note", f"late-{k}", None, compact({"k": k})) for k in range(25)], corpus)
        refresh(node, "late")
    else:
        for k in range(0, 150, 7):
            update(node, "catalog", "book", f"b-{k}", {"third": k}, corpus)
        delete(node, "catalog", "book", "shared-2", corpus)
        refresh(node, "catalog")
        node.call("DELETE", "/routed")


def indices(node):
    stats = node.json("GET", "/_stats/docs")["indices"]
    return sorted(i for i in stats if not i.startswith("."))


def truth(node, corpus, shards_of):
    out, summary = [], {}
    for index in indices(node):
        mappings = node.json("GET", f"/{index}/_mapping")[index]["mappings"]
        source_on = {t: m.get("_source", {}).get("enabled", True) for t, m in mappings.items()}
        shards = shards_of[index]
        for shard in range(shards):
            body = {"size": 200, "query": {"match_all": {}}, "_source": False, "fields": ["_routing"]}
            page = node.json("POST", f"/{index}/_search?scroll=2m&preference=_shards:{shard}", body)
            while page["hits"]["hits"]:
                for hit in page["hits"]["hits"]:
                    doc_type, doc_id = hit["_type"], hit["_id"]
                    routing = hit.get("_routing", hit.get("fields", {}).get("_routing"))
                    if isinstance(routing, list):
                        routing = routing[0]
                    r = "?routing=" + q(routing) if routing is not None else ""
                    source = None
                    if source_on.get(doc_type, True):
                        _, raw = node.call("GET", f"/{index}/{doc_type}/{q(doc_id)}/_source{r}")
                        source = raw.decode("utf-8")
                        sent = corpus.sent.get((index, doc_type, doc_id))
                        if sent is not None and sent != source:
                            raise SystemExit(f"generate: {index}/{doc_type}/{doc_id}: the node returned other bytes "
                                             f"than were sent:\n{sent[:200]}\n{source[:200]}")
                    out.append({"index": index, "shard": shard, "type": doc_type, "id": doc_id,
                                "routing": routing, "source": source})
                page = node.json("GET", f"/_search/scroll?scroll=2m&scroll_id={q(page['_scroll_id'])}")
            node.call("DELETE", f"/_search/scroll/{q(page['_scroll_id'])}", ok=(200, 404))
        count = node.json("GET", f"/{index}/_count")["count"]
        lucene = node.json("GET", f"/{index}/_stats/docs")["indices"][index]["primaries"]["docs"]["count"]
        summary[index] = {"shards": shards, "documents": count, "lucene_docs": lucene,
                          "source": all(source_on.values()), "types": sorted(mappings)}
        seen = sum(1 for d in out if d["index"] == index)
        if seen != count:
            raise SystemExit(f"generate: {index}: read {seen} documents per shard but _count says {count}")
    out.sort(key=lambda d: (d["index"], d["shard"], d["type"], d["id"]))
    return out, summary


def write_truth(out_dir, snapshot, docs, summary):
    tdir = os.path.join(out_dir, "truth")
    os.makedirs(tdir, exist_ok=True)
    with open(os.path.join(tdir, snapshot + ".ndjson"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(tdir, snapshot + ".indices.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True)


def snapshot_all(node, repos, name):
    wanted = ",".join(indices(node))
    for repo in repos:
        node.json("PUT", f"/_snapshot/{repo}/{name}?wait_for_completion=true",
                  {"indices": wanted, "include_global_state": False})
        state = node.json("GET", f"/_snapshot/{repo}/{name}")["snapshots"][0]["state"]
        if state != "SUCCESS":
            raise SystemExit(f"generate: snapshot {repo}/{name} ended {state}")


def upgrade(node, old_repo, repo_dir, truth_of):
    """A 1.x repository taken over by this 2.x node, which adds one snapshot to it."""
    where = os.path.join(repo_dir, "upgraded")
    shutil.copytree(old_repo, where)
    node.json("PUT", "/_snapshot/upgraded", {"type": "fs", "settings": {"location": where}})
    listed = node.json("GET", "/_snapshot/upgraded/_all")["snapshots"]
    old = [s["snapshot"] for s in sorted(listed, key=lambda s: s["start_time_in_millis"])]
    if not old or "snap-4" in old:
        raise SystemExit(f"generate_legacy: the 1.x repository to upgrade lists {old}")
    snapshot_all(node, ["upgraded"], "snap-4")
    return {"repository": "upgraded", "snapshots": old + ["snap-4"], "truth_of": truth_of}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--repo-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--upgrade-from")
    args = ap.parse_args()
    node = Node(args.url)
    info = node.json("GET", "/")
    version = info["version"]["number"]
    major = int(version.split(".")[0])
    if major not in (1, 2):
        raise SystemExit(f"generate_legacy: Elasticsearch {version} is not 1.x or 2.x (use generate.py)")

    repos = {"plain": {"type": "fs", "settings": {"location": os.path.join(args.repo_dir, "plain")}},
             "compressed": {"type": "fs", "settings": {"location": os.path.join(args.repo_dir, "compressed"),
                                                       "compress": True, "chunk_size": "256kb"}}}
    for name, body in repos.items():
        node.json("PUT", f"/_snapshot/{name}", body)

    rng = random.Random(SEED)
    corpus = Corpus()
    os.makedirs(args.out, exist_ok=True)
    shards_of = {"catalog": 3, "logs": 2, "routed": 4, "packed": 2, "late": 1}
    build_first(node, rng, corpus, major == 1)
    snapshots = ["snap-1", "snap-2", "snap-3"]
    for step, snap in enumerate(snapshots, 1):
        if step > 1:
            change_between(node, rng, corpus, step)
        docs, summary = truth(node, corpus, shards_of)
        snapshot_all(node, repos, snap)
        write_truth(args.out, snap, docs, summary)

    engine = {"engine": "elasticsearch", "version": version, "lucene_version": info["version"].get("lucene_version"),
              "repositories": sorted(repos), "snapshots": snapshots}
    if args.upgrade_from:
        if major != 2:
            raise SystemExit("generate_legacy: --upgrade-from needs a 2.x node")
        engine["upgraded"] = upgrade(node, args.upgrade_from, args.repo_dir, snapshots[-1])
        repos["upgraded"] = None
    for name in repos:
        shutil.copytree(os.path.join(args.repo_dir, name), os.path.join(args.out, "repos", name))
    with open(os.path.join(args.out, "engine.json"), "w") as f:
        json.dump(engine, f, indent=1)
    print(f"generate_legacy: elasticsearch {version}: {len(repos)} repositories, snapshots {', '.join(snapshots)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
