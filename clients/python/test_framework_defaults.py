"""LangChain and LlamaIndex with their own defaults, on an index that they create themselves under the operator's
index template (the only thing the operator does). Both default to space_type l2, which an encrypted index of a cosine
model answers exactly for unit vectors (MiniLM's): the same hits and k-NN's l2 scores 1 / (1 + ‖q − x‖²) as the
plaintext k-NN l2 index.

Engines: on the encrypted index each library's default (LangChain nmslib, LlamaIndex faiss; accepted and ignored, the
graph is Lucene's HNSW over the encrypted prefixes). On the plaintext index k-NN 3.5 runs neither here: OpenSearch 3
refuses new nmslib indices, and the opensearch-knn zip on Maven Central carries no faiss library (its first refresh
stops the node), so the plaintext index takes lucene, the other engine both libraries document for OpenSearch 3."""

import pytest
from langchain_community.vectorstores import OpenSearchVectorSearch
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.opensearch import OpensearchVectorClient, OpensearchVectorStore

from conftest import K, compare_rankings, index_pair

LANGCHAIN = index_pair("langchain-defaults")
LLAMAINDEX = index_pair("llamaindex-defaults")
PLAIN_ENGINE = "lucene"


def encrypted_mapping(client, index, field):
    """The mapping the index got from the library's own create-index request under the template."""
    return client.indices.get_mapping(index=index)[index]["mappings"]["properties"][field]


@pytest.fixture(scope="module")
def langchain_stores(operator, url, corpus, embeddings):
    stores = {}
    for kind, index in LANGCHAIN.items():
        engine = {} if kind == "encrypted" else {"engine": PLAIN_ENGINE}  # nothing but the engine differs
        stores[kind] = OpenSearchVectorSearch.from_texts(
            [m.text for m in corpus.docs],
            embeddings,
            metadatas=[{"spam": m.spam, "id": m.id} for m in corpus.docs],
            ids=[m.id for m in corpus.docs],
            opensearch_url=url,
            index_name=index,
            bulk_size=len(corpus.docs),
            timeout=120,
            **engine,
        )
    return stores


@pytest.fixture(scope="module")
def llama_index_stores(operator, url, corpus):
    stores = {}
    for kind, index in LLAMAINDEX.items():
        dim = len(corpus.docs[0].vector)
        if kind == "encrypted":
            client = OpensearchVectorClient(url, index, dim=dim, timeout=120)
        else:  # LlamaIndex's default method with the lucene engine
            method = {"name": "hnsw", "space_type": "l2", "engine": PLAIN_ENGINE, "parameters": {"ef_construction": 256, "m": 48}}
            client = OpensearchVectorClient(url, index, dim=dim, method=method, timeout=120)
        store = OpensearchVectorStore(client)
        nodes = [TextNode(id_=m.id, text=m.text, embedding=m.vector) for m in corpus.docs]
        for start in range(0, len(nodes), 500):
            store.add(nodes[start : start + 500])
        stores[kind] = store
    yield stores
    for store in stores.values():
        store.close()


def test_langchain_defaults_create_an_encrypted_l2_index(operator, langchain_stores):
    mapping = encrypted_mapping(operator, LANGCHAIN["encrypted"], "vector_field")
    assert mapping["type"] == "encrypted_knn_vector" and mapping["space_type"] == "l2", mapping


def test_langchain_defaults_similarity_search_with_score(langchain_stores, corpus):
    hits = {
        kind: [[(doc.id, score) for doc, score in store.similarity_search_with_score(q.text, k=K)] for q in corpus.queries]
        for kind, store in langchain_stores.items()
    }
    compare_rankings("langchain defaults (l2) similarity_search_with_score", hits["encrypted"], hits["plain"])
    assert all(len(h) == K for h in hits["encrypted"])


def test_llama_index_defaults_create_an_encrypted_l2_index(operator, llama_index_stores):
    mapping = encrypted_mapping(operator, LLAMAINDEX["encrypted"], "embedding")
    assert mapping["type"] == "encrypted_knn_vector" and mapping["space_type"] == "l2", mapping


def test_llama_index_defaults_query(llama_index_stores, corpus):
    hits = {
        kind: [
            list(zip(r.ids, r.similarities))
            for r in (store.query(VectorStoreQuery(query_embedding=q.vector, similarity_top_k=K)) for q in corpus.queries)
        ]
        for kind, store in llama_index_stores.items()
    }
    compare_rankings("llama-index defaults (l2) query", hits["encrypted"], hits["plain"])
    assert all(len(h) == K for h in hits["encrypted"])
