#!/usr/bin/env python3
"""Seeds the fuzz corpora from the real fixtures and the Lucene test indexes.

corpus/smile            the SMILE bodies of every *.dat metadata blob of ../shared/fixtures/snapshots
corpus/repository_data  every index-N (JSON)
corpus/compound         each .cfe with its .cfs: the .cfe's length (u16 LE), the .cfe, the .cfs
corpus/field_infos      every .fnm, inside compound files or not
corpus/stored_fields    every .fdt, with a document count of 255 (the first byte)

Usage: python3 seed.py [SHARED_DIR]   (default: ../../../../shared, or $BACKFILL_SHARED_DIR)
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.normpath(os.path.join(HERE, "../../.."))
CODEC_MAGIC = struct.pack(">I", 0x3FD76C17)
FOOTER_MAGIC = struct.pack(">I", 0xC02893E8) + b"\0\0\0\0"


def codec_name(data, at=0):
    """The codec name of a header at `at`, or None."""
    if data[at:at + 4] != CODEC_MAGIC or len(data) < at + 5:
        return None
    n = data[at + 4]
    return data[at + 5:at + 5 + n].decode("latin-1")


def inner_files(data):
    """(codec, bytes) of each file inside a compound data file: a header to its footer."""
    out = []
    at = data.find(CODEC_MAGIC, 1)
    while at != -1:
        end = data.find(FOOTER_MAGIC, at)
        if end == -1 or end + 16 > len(data) - 16:
            break
        out.append((codec_name(data, at), data[at:end + 16]))
        at = data.find(CODEC_MAGIC, end + 16)
    return out


def save(kind, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def lucene_file(name, codec, data):
    if codec and "FieldInfos" in codec:
        save("field_infos", data)
    elif codec and "StoredFields" in codec and codec.endswith("Data"):
        save("stored_fields", b"\xff" + data)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "BACKFILL_SHARED_DIR", os.path.join(PROJECT, "../shared"))
    roots = [os.path.join(shared, "fixtures/snapshots"), os.path.join(PROJECT, "tests/data/lucene")]
    for root in roots:
        for dirpath, _, names in os.walk(root):
            blobs = {}
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    blobs[name] = f.read()
            for name, data in blobs.items():
                codec = codec_name(data)
                if name.endswith(".dat") and codec:
                    body = data[4 + 1 + data[4] + 4:len(data) - 16]
                    save("smile", body)
                elif name.startswith("index-") and data[:1] == b"{":
                    save("repository_data", data)
                elif codec and codec.endswith("CompoundEntries"):
                    # Its .cfs is the blob of the same segment whose codec is CompoundData.
                    for other in blobs.values():
                        if (codec_name(other) or "").endswith("CompoundData") and \
                                other[4 + 1 + other[4] + 4:][:16] == data[4 + 1 + data[4] + 4:][:16]:
                            save("compound", struct.pack("<H", len(data)) + data + other)
                            for inner_codec, inner in inner_files(other):
                                lucene_file(name, inner_codec, inner)
                else:
                    lucene_file(name, codec, data)
    for kind in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        print(kind, len(os.listdir(os.path.join(HERE, "corpus", kind))))


if __name__ == "__main__":
    main()
