#!/usr/bin/env python3
"""Drives a real Elasticsearch/OpenSearch node over HTTP to write `fs` snapshot repositories that
cover what users have, and takes the ground truth from the node at snapshot time.

    python3 generate.py --url http://127.0.0.1:9200 --repo-dir <the node's path.repo> --out <folder>

The node must have been started with `path.repo` = --repo-dir. Written under --out:
  repos/<name>/              each repository (copied out of --repo-dir once both snapshots exist)
  truth/<snapshot>.ndjson    every live top-level document at that snapshot, sorted by
                             (index, shard, id): {"index","shard","id","routing","source"} where
                             source is the stored `_source` exactly as the node returns it (null
                             where the index does not keep `_source`)
  truth/<snapshot>.indices.json  per index: shards, documents (`_count`), lucene_docs
                             (`_cat/indices` docs.count: nested children included), source
  engine.json                the engine, its version, its Lucene version, the repositories

Every document is sent as an exact JSON string; those the node never rewrote must come back
byte-equal (checked here: a generator that cannot reproduce what it sent stops). Standard library
only. Deterministic content (seeded), so two runs differ only in what the engine randomises.
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


class Node:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None, ok=(200, 201), ndjson=False):
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else (
                body.encode() if isinstance(body, str) else json.dumps(body).encode())
            headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in ok:
            raise SystemExit(f"generate: {method} {path} answered {status}: {raw[:2000]!r}")
        return status, raw

    def json(self, method, path, body=None, ok=(200, 201)):
        _, raw = self.call(method, path, body, ok)
        return json.loads(raw)


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---- document makers: varied JSON, some of it formatted in ways a re-serialiser would change ----

WORDS = ["alpha", "beta", "gamma", "delta", "kappa", "omega", "sigma", "tau", "zeta", "lambda"]
UNICODE = ["naïve café", "日本語のテキスト", "Ελληνικά", "עברית מימין לשמאל", "emoji 🚀🔥👩‍💻",
           "combining e\u0301", "Ünïcödé ß", "한국어", "русский текст", "tab\there"]


def log_doc(rng, i):
    doc = {
        "@timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z",
        "level": rng.choice(["INFO", "WARN", "ERROR", "DEBUG"]),
        "message": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))),
        "host": {"name": f"host-{rng.randint(1, 20)}", "ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"},
        "latency_ms": round(rng.uniform(0, 5000), 3),
        "bytes": rng.randint(0, 10**12),
        "ok": rng.random() < 0.8,
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 4))],
        "trace": None if rng.random() < 0.3 else f"{rng.getrandbits(64):016x}",
    }
    style = i % 4
    if style == 0:
        return compact(doc)
    if style == 1:  # pretty-printed: the stored bytes keep the whitespace
        return json.dumps(doc, ensure_ascii=False, indent=2)
    if style == 2:  # escaped non-ASCII and spaces after separators
        return json.dumps(doc, ensure_ascii=True)
    return json.dumps(doc, ensure_ascii=False, separators=(" , ", " : "))


def unicode_doc(rng, i):
    text = rng.choice(UNICODE)
    doc = {"title": text, "i": i, "escaped": "quote \" backslash \\ slash / newline \n end",
           "mixed": [text, i, 1.5e-7, True, None, {"k": text[::-1]}]}
    return compact(doc) if i % 2 else json.dumps(doc, ensure_ascii=True)


def big_doc(rng, i, size):
    chunk = " ".join(rng.choice(WORDS + UNICODE) for _ in range(200))
    body = (chunk * (size // len(chunk.encode()) + 1))
    return compact({"n": i, "body": body, "after": "the end"})


# ---- the indices ----

def create(node, name, shards, settings=None, mappings=None):
    s = {"number_of_shards": shards, "number_of_replicas": 0, "refresh_interval": -1}
    s.update(settings or {})
    body = {"settings": {"index": s}}
    if mappings is not None:
        body["mappings"] = mappings
    node.json("PUT", "/" + name, body)


def bulk(node, index, docs):
    """docs: list of (id, routing, source string). Sent in one request per 200 documents."""
    for start in range(0, len(docs), 200):
        lines = []
        for doc_id, routing, source in docs[start:start + 200]:
            action = {"_index": index, "_id": doc_id}
            if routing is not None:
                action["routing"] = routing
            lines.append(compact({"index": action}))
            lines.append(source.replace("\n", " ") if "\n" in source else source)
        out = json.loads(node.call("POST", "/_bulk", "\n".join(lines) + "\n", ndjson=True)[1])
        if out.get("errors"):
            bad = [it for it in out["items"] if it["index"].get("error")][:3]
            raise SystemExit(f"generate: bulk into {index} rejected documents: {bad}")


def refresh(node, index):
    node.call("POST", f"/{index}/_refresh")


def delete_doc(node, index, doc_id, routing=None):
    q = "?routing=" + urllib.parse.quote(routing) if routing else ""
    node.call("DELETE", f"/{index}/_doc/{urllib.parse.quote(doc_id)}{q}")


class Corpus:
    """What was sent and is still expected byte-equal: (index, id) -> source string. A document the
    node rewrote (a partial update) is dropped from it: the node's bytes are the truth then."""

    def __init__(self):
        self.sent = {}

    def put(self, index, docs):
        for doc_id, _routing, source in docs:
            self.sent[(index, doc_id)] = source.replace("\n", " ") if "\n" in source else source

    def rewritten(self, index, doc_id):
        self.sent.pop((index, doc_id), None)


def build_first(node, rng, corpus, source_enabled_ok=True):
    # logs: 3 shards, several segments per shard, full-document updates, partial updates, deletes.
    create(node, "logs", 3, mappings={"properties": {"@timestamp": {"type": "date"}, "level": {"type": "keyword"}}})
    n = 0
    for batch in range(5):
        docs = [(f"log-{n + k}", None, log_doc(rng, n + k)) for k in range(120)]
        n += 120
        bulk(node, "logs", docs)
        corpus.put("logs", docs)
        refresh(node, "logs")  # one segment per batch and shard
    replaced = [(f"log-{k}", None, log_doc(rng, 10_000 + k)) for k in range(0, 600, 17)]
    bulk(node, "logs", replaced)
    corpus.put("logs", replaced)
    for k in range(5, 600, 23):
        node.json("POST", f"/logs/_update/log-{k}", {"doc": {"level": "PATCHED", "patched_at": k}})
        corpus.rewritten("logs", f"log-{k}")
    for k in range(3, 600, 29):
        delete_doc(node, "logs", f"log-{k}")
        corpus.rewritten("logs", f"log-{k}")
    refresh(node, "logs")

    # routed: 5 shards, custom _routing (several ids share one routing value).
    create(node, "routed", 5)
    docs = [(f"r-{k}", f"user-{k % 13}", compact({"user": k % 13, "seq": k, "w": rng.choice(WORDS)}))
            for k in range(300)]
    bulk(node, "routed", docs)
    corpus.put("routed", docs)
    for k in range(0, 300, 31):
        delete_doc(node, "routed", f"r-{k}", f"user-{k % 13}")
        corpus.rewritten("routed", f"r-{k}")
    refresh(node, "routed")

    # merged: 2 shards, several segments and deletes, then force-merged into one segment.
    create(node, "merged", 2)
    for batch in range(3):
        docs = [(f"m-{batch}-{k}", None, log_doc(rng, batch * 1000 + k)) for k in range(80)]
        bulk(node, "merged", docs)
        corpus.put("merged", docs)
        refresh(node, "merged")
    for k in range(0, 80, 7):
        delete_doc(node, "merged", f"m-1-{k}")
        corpus.rewritten("merged", f"m-1-{k}")
    refresh(node, "merged")
    node.call("POST", "/merged/_forcemerge?max_num_segments=1")

    # nested: block-joined children travel inside their parent.
    create(node, "nested", 1, mappings={"properties": {"comments": {"type": "nested"}}})
    docs = [(f"n-{k}", None, compact({"post": k, "comments": [
        {"by": rng.choice(WORDS), "stars": rng.randint(1, 5)} for _ in range(k % 5)]})) for k in range(100)]
    bulk(node, "nested", docs)
    corpus.put("nested", docs)
    refresh(node, "nested")

    # nosource: `_source` disabled, one stored field.
    create(node, "nosource", 1, mappings={"_source": {"enabled": False},
                                          "properties": {"title": {"type": "keyword", "store": True}}})
    docs = [(f"ns-{k}", None, compact({"title": f"t{k}", "n": k})) for k in range(40)]
    bulk(node, "nosource", docs)
    refresh(node, "nosource")

    # compressed: best_compression (DEFLATE stored fields).
    create(node, "compressed", 2, settings={"codec": "best_compression"})
    docs = [(f"c-{k}", None, log_doc(rng, 50_000 + k)) for k in range(250)]
    bulk(node, "compressed", docs)
    corpus.put("compressed", docs)
    refresh(node, "compressed")

    # empty: no documents at all.
    create(node, "empty", 1)

    # unicode: non-ASCII ids and routing, escapes, and documents of 1 MiB and more.
    create(node, "unicode", 2, mappings={"dynamic": False})
    docs = [(f"ü-{k}-{rng.choice(UNICODE)}", None if k % 3 else f"ルート{k % 4}", unicode_doc(rng, k))
            for k in range(60)]
    docs += [(f"big-{k}", None, big_doc(rng, k, size)) for k, size in
             enumerate([1 << 20, (1 << 20) + 12345, 3 << 20])]
    bulk(node, "unicode", docs)
    corpus.put("unicode", docs)
    refresh(node, "unicode")


def change_between(node, rng, corpus):
    """Between the two snapshots: logs changes (new, replaced, deleted documents), merged is
    deleted, and a new index appears."""
    docs = [(f"log-{k}", None, log_doc(rng, 20_000 + k)) for k in range(590, 700)]
    bulk(node, "logs", docs)
    corpus.put("logs", docs)
    for k in range(1, 300, 37):
        delete_doc(node, "logs", f"log-{k}")
        corpus.rewritten("logs", f"log-{k}")
    refresh(node, "logs")
    node.call("DELETE", "/merged")
    create(node, "late", 1)
    docs = [(f"late-{k}", None, compact({"k": k})) for k in range(25)]
    bulk(node, "late", docs)
    corpus.put("late", docs)
    refresh(node, "late")


# ---- ground truth ----

def truth(node, corpus):
    """Every live top-level document of every index, per shard, with its raw `_source`."""
    out, summary = [], {}
    indices = sorted(i["index"] for i in node.json("GET", "/_cat/indices?format=json")
                     if not i["index"].startswith("."))
    for index in indices:
        settings = node.json("GET", f"/{index}/_settings")[index]["settings"]["index"]
        mapping = node.json("GET", f"/{index}/_mapping")[index]["mappings"]
        source_enabled = mapping.get("_source", {}).get("enabled", True)
        shards = int(settings["number_of_shards"])
        for shard in range(shards):
            body = {"size": 500, "sort": ["_doc"], "_source": False, "query": {"match_all": {}}}
            page = node.json("POST", f"/{index}/_search?scroll=2m&preference=_shards:{shard}", body)
            while page["hits"]["hits"]:
                for hit in page["hits"]["hits"]:
                    doc_id, routing = hit["_id"], hit.get("_routing")
                    q = "?routing=" + urllib.parse.quote(routing) if routing is not None else ""
                    source = None
                    if source_enabled:
                        _, raw = node.call("GET", f"/{index}/_source/{urllib.parse.quote(doc_id, safe='')}{q}")
                        source = raw.decode("utf-8")
                        sent = corpus.sent.get((index, doc_id))
                        if sent is not None and sent != source:
                            raise SystemExit(f"generate: {index}/{doc_id}: the node returned other bytes than were sent")
                    out.append({"index": index, "shard": shard, "id": doc_id, "routing": routing, "source": source})
                page = node.json("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": page["_scroll_id"]})
            node.call("DELETE", "/_search/scroll", {"scroll_id": [page["_scroll_id"]]}, ok=(200, 404))
        count = node.json("GET", f"/{index}/_count")["count"]
        cat = node.json("GET", f"/_cat/indices/{index}?format=json")[0]
        summary[index] = {"shards": shards, "documents": count, "lucene_docs": int(cat["docs.count"]),
                          "source": source_enabled, "codec": settings.get("codec", "default")}
        seen = sum(1 for d in out if d["index"] == index)
        if seen != count:
            raise SystemExit(f"generate: {index}: read {seen} documents per shard but _count says {count}")
    out.sort(key=lambda d: (d["index"], d["shard"], d["id"]))
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
    for repo in repos:
        node.json("PUT", f"/_snapshot/{repo}/{name}?wait_for_completion=true",
                  {"indices": "*,-.*", "include_global_state": False})
        state = node.json("GET", f"/_snapshot/{repo}/{name}")["snapshots"][0]["state"]
        if state != "SUCCESS":
            raise SystemExit(f"generate: snapshot {repo}/{name} ended {state}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--repo-dir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    node = Node(args.url)
    info = node.json("GET", "/")
    engine = "opensearch" if info["version"].get("distribution") == "opensearch" else "elasticsearch"
    version = info["version"]["number"]
    major, minor = (int(x) for x in version.split(".")[:2])

    # A plain repository, and one with compressed metadata and files split into 256 KiB parts:
    # on OpenSearch 2.17+ with hashed shard paths too ("hashed"), elsewhere "chunked".
    repos = {"plain": {"type": "fs", "settings": {"location": os.path.join(args.repo_dir, "plain")}}}
    second = {"compress": True, "chunk_size": "256kb"}
    if engine == "opensearch" and (major, minor) >= (2, 17):
        repos["hashed"] = {"type": "fs", "settings": {
            "location": os.path.join(args.repo_dir, "hashed"), "shard_path_type": "hashed_prefix", **second}}
    else:
        repos["chunked"] = {"type": "fs", "settings": {"location": os.path.join(args.repo_dir, "chunked"), **second}}
    for name, body in repos.items():
        node.json("PUT", f"/_snapshot/{name}", body)

    rng = random.Random(SEED)
    corpus = Corpus()
    os.makedirs(args.out, exist_ok=True)
    build_first(node, rng, corpus)
    docs, summary = truth(node, corpus)
    snapshot_all(node, repos, "snap-1")
    write_truth(args.out, "snap-1", docs, summary)
    change_between(node, rng, corpus)
    docs, summary = truth(node, corpus)
    snapshot_all(node, repos, "snap-2")
    write_truth(args.out, "snap-2", docs, summary)

    for name in repos:
        shutil.copytree(os.path.join(args.repo_dir, name), os.path.join(args.out, "repos", name))
    with open(os.path.join(args.out, "engine.json"), "w") as f:
        json.dump({"engine": engine, "version": version,
                   "lucene_version": info["version"].get("lucene_version"),
                   "repositories": sorted(repos), "snapshots": ["snap-1", "snap-2"]}, f, indent=1)
    print(f"generate: {engine} {version}: {len(repos)} repositories, snapshots snap-1 and snap-2", file=sys.stderr)


if __name__ == "__main__":
    main()
