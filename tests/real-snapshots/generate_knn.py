#!/usr/bin/env python3
"""Like generate.py, for a node with the k-NN plugin (OpenSearch 2.19.1 + k-NN 2.19.1.0, 3.5.0 +
k-NN 3.5.0.0): vector indices with derived source on and off, and the `_source` of every live
document as the node returns it, i.e. with the vectors it rebuilt from the vector files.

    python3 generate_knn.py --url http://127.0.0.1:9200 --repo-dir <path.repo> --out <folder>

Same output layout as generate.py (repos/, truth/, engine.json). The indices:
  lucene-derived   engine lucene, derived source on: a 3-d and a 5-d vector field, a vector in an
                   object (obj.ov), documents without vectors, full and partial updates, deletes,
                   several segments, 2 shards
  faiss-derived    engine faiss (no native library: approximate_threshold -1, so no graph is
                   built and the vectors live in the flat vector files only), derived source on
  lucene-stored    engine lucene, derived source off: the stored `_source` holds the vectors
  faiss-stored     engine faiss, derived source off
  nested-derived   a vector inside a nested field (nest.nv) and one at the root, derived on

Derived source is the default in 3.x and opt-in in 2.19 (`index.knn.derived_source.enabled`), so
the setting is given explicitly either way. Documents of the "-stored" indices must come back
byte-equal to what was sent; those of the "-derived" indices are re-serialised by the node.
"""

import argparse
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate as g  # noqa: E402  (the shared node client, truth and snapshot helpers)

SEED = 20261208


def rnd_vector(rng, dim, i):
    """Floats of several magnitudes and signs, so that every float-formatting rule shows: whole
    numbers, tiny values (scientific notation), large ones, and values with many digits."""
    style = i % 5
    if style == 0:
        return [float(rng.randint(-5, 5)) for _ in range(dim)]
    if style == 1:
        return [rng.uniform(-1, 1) * 1e-5 for _ in range(dim)]
    if style == 2:
        return [round(rng.uniform(-10, 10), 2) for _ in range(dim)]
    if style == 3:
        return [rng.uniform(-1, 1) * 1e8 for _ in range(dim)]
    return [rng.uniform(-1, 1) for _ in range(dim)]


def vector_field(dim, engine):
    return {"type": "knn_vector", "dimension": dim,
            "method": {"name": "hnsw", "engine": engine, "space_type": "l2"}}


def create_knn(node, name, shards, engine, derived, nested=False):
    settings = {"knn": True, "knn.derived_source.enabled": derived}
    if engine != "lucene":
        settings["knn.advanced.approximate_threshold"] = -1  # no native library to build a graph
    props = {"vec": vector_field(3, engine), "vec5": vector_field(5, engine),
             "obj": {"properties": {"ov": vector_field(2, engine), "label": {"type": "keyword"}}},
             "title": {"type": "keyword"}}
    if nested:
        props = {"vec": vector_field(3, engine), "title": {"type": "keyword"},
                 "nest": {"type": "nested", "properties": {"nv": vector_field(2, engine), "k": {"type": "integer"}}}}
    g.create(node, name, shards, settings=settings, mappings={"properties": props})


def knn_doc(rng, i, nested=False):
    doc = {"title": f"doc {i}", "n": i, "tags": [rng.choice(g.WORDS) for _ in range(i % 3)]}
    if nested:
        doc["nest"] = [{"k": k, **({"nv": rnd_vector(rng, 2, i + k)} if (i + k) % 3 else {})}
                       for k in range(i % 4)]
        if i % 5:
            doc["vec"] = rnd_vector(rng, 3, i)
    elif i % 11 == 0:
        doc = {"title": f"no vectors {i}", "unicode": rng.choice(g.UNICODE)}
    else:
        doc.update(flat_vectors(rng, i))
    # Key order varies, so that where a vector goes back shows.
    keys = list(doc)
    rng.shuffle(keys)
    return g.compact({k: doc[k] for k in keys}) if i % 2 else json.dumps({k: doc[k] for k in keys})


def flat_vectors(rng, i):
    doc = {}
    if i % 7 != 3:  # some documents without this vector
        doc["vec"] = rnd_vector(rng, 3, i)
    if i % 2 == 0:
        doc["vec5"] = rnd_vector(rng, 5, i + 1)
    if i % 4 == 1:
        doc["obj"] = {"label": rng.choice(g.WORDS), "ov": rnd_vector(rng, 2, i + 2)}
    return doc


def fill(node, rng, corpus, name, derived, nested=False, count=120):
    for batch in range(3):  # one segment per batch and shard
        docs = [(f"{name}-{k}", None, knn_doc(rng, k, nested)) for k in range(batch * count // 3, (batch + 1) * count // 3)]
        g.bulk(node, name, docs)
        if not derived:
            corpus.put(name, docs)
        g.refresh(node, name)
    replaced = [(f"{name}-{k}", None, knn_doc(rng, 1000 + k, nested)) for k in range(0, count, 13)]
    g.bulk(node, name, replaced)
    if not derived:
        corpus.put(name, replaced)
    for k in range(5, count, 17):  # partial updates: the node rewrites the whole _source
        node.json("POST", f"/{name}/_update/{name}-{k}", {"doc": {"title": f"patched {k}"}})
        corpus.rewritten(name, f"{name}-{k}")
    for k in range(2, count, 19):
        g.delete_doc(node, name, f"{name}-{k}")
        corpus.rewritten(name, f"{name}-{k}")
    g.refresh(node, name)


def build_first(node, rng, corpus):
    for engine in ("lucene", "faiss"):
        create_knn(node, f"{engine}-derived", 2 if engine == "lucene" else 1, engine, True)
        fill(node, rng, corpus, f"{engine}-derived", True)
        create_knn(node, f"{engine}-stored", 1, engine, False)
        fill(node, rng, corpus, f"{engine}-stored", False)
    create_knn(node, "nested-derived", 1, "lucene", True, nested=True)
    fill(node, rng, corpus, "nested-derived", True, nested=True, count=60)


def change_between(node, rng, corpus):
    """Between the snapshots: more documents and deletes in lucene-derived, and a force merge of
    faiss-derived (merged segments are rewritten by the plugin's merge path)."""
    docs = [(f"lucene-derived-{k}", None, knn_doc(rng, k)) for k in range(120, 160)]
    g.bulk(node, "lucene-derived", docs)
    for k in range(1, 60, 9):
        g.delete_doc(node, "lucene-derived", f"lucene-derived-{k}")
    g.refresh(node, "lucene-derived")
    node.call("POST", "/faiss-derived/_forcemerge?max_num_segments=1")


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
    corpus = g.Corpus()
    os.makedirs(args.out, exist_ok=True)
    build_first(node, rng, corpus)
    docs, summary = g.truth(node, corpus)
    g.snapshot_all(node, repos, "snap-1")
    g.write_truth(args.out, "snap-1", docs, summary)
    change_between(node, rng, corpus)
    docs, summary = g.truth(node, corpus)
    g.snapshot_all(node, repos, "snap-2")
    g.write_truth(args.out, "snap-2", docs, summary)

    for name in repos:
        shutil.copytree(os.path.join(args.repo_dir, name), os.path.join(args.out, "repos", name))
    with open(os.path.join(args.out, "engine.json"), "w") as f:
        json.dump({"engine": "opensearch", "version": version,
                   "lucene_version": info["version"].get("lucene_version"),
                   "repositories": sorted(repos), "snapshots": ["snap-1", "snap-2"]}, f, indent=1)
    print(f"generate_knn: opensearch {version}: snapshots snap-1 and snap-2", file=sys.stderr)


if __name__ == "__main__":
    main()
