"""Shared fixtures of the framework suite (docs/frameworks.md).

The suite plays two roles. The *operator* trains the model and installs an index template that carries the opt-in
setting for every index whose name starts with ENCRYPTED_PREFIX; that is all that differs between the two indices of
each flow. The *application* is the frameworks' documented code, run unchanged against an encrypted index and a
plaintext k-NN index on the same node; the tests compare what the two return.

Environment (set by scripts/clients-python.sh):
  EKNN_URL              the node, e.g. http://127.0.0.1:9470
  EKNN_CORPUS           JSON Lines export of the corpus (CorpusTool export): id, spam, text, vector
  EKNN_DOCS             documents indexed per index (default 2000); the next EKNN_QUERIES messages are the queries
  EKNN_QUERIES          held-out messages used as queries (default 40)
  EKNN_JAVA, EKNN_TOOLS_CLASSPATH   how to run the plaintext scan (org.encryptedknn.tools.audit.PlaintextScan)
"""

import json
import os
from dataclasses import dataclass

import pytest
from langchain_core.embeddings import Embeddings
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError

MODEL_ID = "clients-minilm"
TEMPLATE = "clients-encrypted"
ENCRYPTED_PREFIX = "clients-enc-"
PLAIN_PREFIX = "clients-plain-"
# What the operator adds to an index for drop-in encryption; nothing else differs between the two indices.
OPT_IN_SETTINGS = {"index.encrypted_knn.model_id": MODEL_ID}
TRAINING_VECTORS = 2000
CELLS = 64
K = 10
# Acceptance thresholds (issue 16).
MIN_OVERLAP = 0.95
# The model's default window is calibrated for this recall@10 against exact search. The suites compare with k-NN's own
# approximate top 10 and ask for MIN_OVERLAP: the fit default 0.95 leaves no margin for that, since the augmented prefix
# ranks stage 1 well enough that the calibrated window is as small as 0.95 allows (docs/security.md).
TARGET_RECALL = 0.99
SCORE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Message:
    id: str
    spam: bool
    text: str
    vector: list
    line: int  # position in the export: the scan looks for the vectors of the first line + 1 messages


@dataclass(frozen=True)
class Corpus:
    docs: list
    queries: list


class PrecomputedEmbeddings(Embeddings):
    """MiniLM vectors of the corpus, looked up by text: the embedding model is not what is under test."""

    def __init__(self, messages):
        self._by_text = {m.text: m.vector for m in messages}

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text):
        try:
            return list(self._by_text[text])
        except KeyError:
            raise KeyError(f"no precomputed vector for text {text[:60]!r}") from None


@pytest.fixture(scope="session")
def url():
    return os.environ.get("EKNN_URL", "http://127.0.0.1:9200")


@pytest.fixture(scope="session")
def corpus():
    docs = int(os.environ.get("EKNN_DOCS", "2000"))
    queries = int(os.environ.get("EKNN_QUERIES", "40"))
    path = os.environ["EKNN_CORPUS"]
    messages = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f):
            record = json.loads(line)
            # The corpus repeats some texts (spam campaigns): a by-text embedding lookup needs one vector per text.
            if record["text"] in seen:
                continue
            seen.add(record["text"])
            messages.append(Message(record["id"], record["spam"], record["text"], record["vector"], number))
            if len(messages) == docs + queries:
                break
    assert len(messages) == docs + queries, f"{path} holds {len(messages)} distinct messages, need {docs + queries}"
    return Corpus(messages[:docs], messages[docs:])


@pytest.fixture(scope="session")
def embeddings(corpus):
    return PrecomputedEmbeddings(corpus.docs + corpus.queries)


@pytest.fixture(scope="session")
def operator(url, corpus):
    """The operator's part: the model and the index template with the opt-in setting. Runs once; removes the indices
    of an earlier run."""
    client = OpenSearch(url, timeout=300)
    client.indices.delete(index=f"{ENCRYPTED_PREFIX}*,{PLAIN_PREFIX}*", ignore_unavailable=True)
    try:
        client.transport.perform_request("DELETE", f"/_plugins/encrypted_knn/models/{MODEL_ID}")
    except NotFoundError:
        pass
    client.transport.perform_request(
        "PUT",
        f"/_plugins/encrypted_knn/models/{MODEL_ID}",
        body={
            "dimension": len(corpus.docs[0].vector),
            "space": "cosine",
            "cells": CELLS,
            "target_recall": TARGET_RECALL,
            "training_vectors": [m.vector for m in corpus.docs[:TRAINING_VECTORS]],
        },
    )
    client.indices.put_index_template(
        name=TEMPLATE,
        body={"index_patterns": [f"{ENCRYPTED_PREFIX}*"], "template": {"settings": OPT_IN_SETTINGS}},
    )
    yield client
    client.close()


def index_pair(name):
    """The encrypted and the plaintext index of one flow."""
    return {"encrypted": ENCRYPTED_PREFIX + name, "plain": PLAIN_PREFIX + name}


def overlap(a, b):
    """Shared hits over the longer list: a missing hit and an extra one both count (1 when both are empty: a post-filter
    or min_score can leave no hit in the top k)."""
    if not a and not b:
        return 1.0
    return len(set(a) & set(b)) / max(len(a), len(b))


def compare_rankings(label, encrypted, plain, k=K):
    """encrypted and plain: one list of (id, score) per query, best first. Asserts the mean top-k overlap and that the
    scores of the documents both return agree; returns the figures for the report."""
    assert len(encrypted) == len(plain)
    overlaps = []
    worst = 0.0
    for enc_hits, plain_hits in zip(encrypted, plain):
        overlaps.append(overlap([i for i, _ in enc_hits[:k]], [i for i, _ in plain_hits[:k]]))
        plain_scores = dict(plain_hits)
        for doc_id, score in enc_hits:
            if doc_id in plain_scores:
                worst = max(worst, abs(score - plain_scores[doc_id]))
        scores = [s for _, s in enc_hits]
        assert scores == sorted(scores, reverse=True), f"{label}: encrypted hits not in score order: {scores}"
    mean = sum(overlaps) / len(overlaps)
    print(f"\n{label}: {len(overlaps)} queries, mean top-{k} overlap {mean:.4f}, max |score diff| {worst:.2e}")
    assert mean >= MIN_OVERLAP, f"{label}: mean top-{k} overlap {mean:.4f} < {MIN_OVERLAP}"
    assert worst <= SCORE_TOLERANCE, f"{label}: score differs from k-NN's by {worst:.2e} > {SCORE_TOLERANCE}"
    return mean, worst
