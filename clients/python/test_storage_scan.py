"""After the flows (this module runs last): the node's data directory holds no plaintext vector of the documents
the applications indexed, except in the plaintext k-NN indices, where the same scans must find them (so the scans
can see what they look for).

Two scans: the vectors as the client wrote them in JSON (pairs of consecutive components as opensearch-py serializes
them), looked for before a flush, while the translog still holds every operation; then, after a flush, the binary
scan of org.encryptedknn.tools.audit.PlaintextScan (every 8-byte window against every pair of consecutive float32
components, both byte orders)."""

import json
import os
import pathlib
import re
import subprocess

import pytest
from opensearchpy import OpenSearch

from conftest import ENCRYPTED_PREFIX, PLAIN_PREFIX

FLOWS = ["langchain", "llamaindex", "guide", "guide-hnsw", "langchain-defaults", "llamaindex-defaults"]
TEXT_NEEDLE_DOCS = 300
NUMBER = re.compile(rb"-?[0-9][0-9.eE+-]*")


@pytest.fixture(scope="module")
def layout(url):
    """The suite's indices by name with their directories, and every other directory of the node's data path."""
    client = OpenSearch(url)
    indices = {i["index"]: i["uuid"] for i in client.cat.indices(format="json", h="index,uuid")}
    stats = client.nodes.stats(node_id="_local", metric="fs")
    data_paths = [pathlib.Path(d["path"]) for node in stats["nodes"].values() for d in node["fs"]["data"]]
    yield client, indices, data_paths
    client.close()


def index_dirs(data_paths, uuid):
    return [p / "indices" / uuid for p in data_paths if (p / "indices" / uuid).is_dir()]


def everything_but(data_paths, excluded):
    """Every top-level entry of the data paths, going into indices/ to leave the excluded index directories out."""
    dirs = []
    for path in data_paths:
        for entry in sorted(path.iterdir()):
            if entry.name != "indices":
                dirs.append(entry)
        for entry in sorted((path / "indices").iterdir()):
            if entry not in excluded:
                dirs.append(entry)
    return dirs


def text_needles(corpus):
    """Pairs of consecutive components of the first documents, exactly as the client serialized them."""
    needles = set()
    for m in corpus.docs[:TEXT_NEEDLE_DOCS]:
        body = json.dumps(m.vector, separators=(",", ":"))[1:-1].split(",")
        needles.update((body[i] + "," + body[i + 1]).encode() for i in range(0, len(body) - 1, 7))
    return needles


def text_hits(directory, needles):
    """The needles present in the files under directory: every two consecutive numbers of a file, joined by a comma,
    looked up in the needle set (linear in the bytes read)."""
    found = set()
    paths = [directory] if directory.is_file() else [pathlib.Path(r) / n for r, _, fs in os.walk(directory) for n in fs]
    for path in paths:
        try:
            numbers = NUMBER.findall(path.read_bytes())
        except FileNotFoundError:
            continue  # merged away while walking
        found.update(p for p in (a + b"," + b for a, b in zip(numbers, numbers[1:])) if p in needles)
    return found


def binary_scan(corpus, dirs):
    """Vectors found per directory, by PlaintextScan over the vectors of every indexed document."""
    limit = max(m.line for m in corpus.docs) + 1
    out = subprocess.run(
        [os.environ["EKNN_JAVA"], "-cp", os.environ["EKNN_TOOLS_CLASSPATH"],
         "org.encryptedknn.tools.audit.PlaintextScan", "--limit", str(limit), *map(str, dirs)],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    found = {}
    for line in out.splitlines():
        path, *fields = line.rsplit(" ", 4)
        found[pathlib.Path(path)] = int(dict(f.split("=") for f in fields)["found"])
    return found


def test_no_plaintext_vector_on_disk(layout, corpus):
    client, indices, data_paths = layout
    expected = [prefix + flow for prefix in (ENCRYPTED_PREFIX, PLAIN_PREFIX) for flow in FLOWS]
    missing = [name for name in expected if name not in indices]
    plain = {d for name, uuid in indices.items() if name.startswith(PLAIN_PREFIX) for d in index_dirs(data_paths, uuid)}
    names = {d: name for name, uuid in indices.items() for d in index_dirs(data_paths, uuid)}
    rest = everything_but(data_paths, plain)
    assert any(names.get(d, "").startswith(ENCRYPTED_PREFIX) for d in rest)

    needles = text_needles(corpus)
    for d in sorted(plain):
        assert text_hits(d, needles), f"the text scan finds nothing in the plaintext index {names[d]}: it is blind"
    leaked = {names.get(d, str(d)): len(hits) for d in rest if (hits := text_hits(d, needles))}
    assert not leaked, f"vector components as the client wrote them, found in {leaked}"

    client.indices.flush(index=f"{ENCRYPTED_PREFIX}*,{PLAIN_PREFIX}*", force=True)
    found = binary_scan(corpus, sorted(plain) + rest)
    for d in sorted(plain):
        print(f"\n{names[d]}: {found[d]} plaintext vectors found (control)")
        assert found[d] >= 0.9 * len(corpus.docs), f"PlaintextScan finds only {found[d]} vectors in {names[d]}"
    leaked = {names.get(d, str(d)): found[d] for d in rest if found[d]}
    print(f"\n{len(rest)} other directories of the data path (encrypted indices included): {leaked or 'none'}")
    assert not leaked, f"plaintext vectors on disk outside the plaintext indices: {leaked}"
    assert not missing, f"indices {missing} are missing: this test scans what the other modules wrote (run the suite)"
