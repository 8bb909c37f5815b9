package org.encryptedknn.keystore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.opensearch.ExceptionsHelper;
import org.opensearch.OpenSearchStatusException;
import org.opensearch.ResourceAlreadyExistsException;
import org.opensearch.action.DocWriteRequest;
import org.opensearch.action.admin.indices.create.CreateIndexRequest;
import org.opensearch.action.delete.DeleteRequest;
import org.opensearch.action.delete.DeleteResponse;
import org.opensearch.action.get.GetRequest;
import org.opensearch.action.index.IndexRequest;
import org.opensearch.action.index.IndexResponse;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.support.ContextPreservingActionListener;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.index.IndexNotFoundException;
import org.opensearch.index.engine.VersionConflictEngineException;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.sort.SortOrder;
import org.opensearch.transport.client.Client;

/**
 * The model registry: one document per model in the system index {@value #INDEX}, {@code _id} = model id,
 * {@code _source} = {@code {"model_id":"m1","epoch":2,"sealed":"<ModelCodec.toJson: public fields + AES-GCM sealed secret>"}}.
 * The secret part opens only under the master key; the public part is readable without it (GET and list need no key).
 * All calls run with a stashed thread context (internal access to a system index) and restore the caller's context
 * before calling back.
 */
public final class ModelStore {

    public static final String INDEX = ".encrypted-knn-models";
    static final String MAPPING =
            "{\"dynamic\":false,\"properties\":{\"model_id\":{\"type\":\"keyword\"},\"epoch\":{\"type\":\"integer\"}}}";

    /** A stored model document. */
    public record StoredModel(String id, String sealedJson, long seqNo, long primaryTerm) {}

    private final Supplier<Client> client;

    ModelStore(Supplier<Client> client) {
        this.client = client;
    }

    private Client client() {
        Client c = client.get();
        if (c == null) {
            throw new IllegalStateException("the encrypted-knn model registry is not started on this node yet");
        }
        return c;
    }

    private <T> void run(ActionListener<T> listener, java.util.function.Consumer<ActionListener<T>> action) {
        Client c;
        try {
            c = client();
        } catch (RuntimeException e) {
            listener.onFailure(e);
            return;
        }
        ThreadContext ctx = c.threadPool().getThreadContext();
        Supplier<ThreadContext.StoredContext> restore = ctx.newRestorableContext(false);
        try (ThreadContext.StoredContext ignored = ctx.stashContext()) {
            action.accept(new ContextPreservingActionListener<>(restore, listener));
        }
    }

    /** The stored model, or null if there is none (the registry index not existing yet counts as none). */
    public void get(String id, ActionListener<StoredModel> listener) {
        run(
                listener,
                l -> client().get(
                                new GetRequest(INDEX, id).realtime(true),
                                ActionListener.wrap(
                                        r -> {
                                            if (r.isExists() == false) {
                                                l.onResponse(null);
                                            } else {
                                                l.onResponse(new StoredModel(
                                                        id,
                                                        sealedOf(r.getSourceAsMap(), id),
                                                        r.getSeqNo(),
                                                        r.getPrimaryTerm()));
                                            }
                                        },
                                        e -> {
                                            if (ExceptionsHelper.unwrapCause(e) instanceof IndexNotFoundException) {
                                                l.onResponse(null);
                                            } else {
                                                l.onFailure(e);
                                            }
                                        })));
    }

    /** All stored models' sealed JSON, by id (at most 10 000). */
    public void list(ActionListener<List<StoredModel>> listener) {
        SearchRequest search = new SearchRequest(INDEX)
                .source(new SearchSourceBuilder()
                        .size(10_000)
                        .sort("model_id", SortOrder.ASC)
                        .seqNoAndPrimaryTerm(true));
        run(
                listener,
                l -> client().search(
                                search,
                                ActionListener.wrap(
                                        r -> {
                                            List<StoredModel> out = new ArrayList<>();
                                            for (SearchHit hit : r.getHits().getHits()) {
                                                out.add(new StoredModel(
                                                        hit.getId(),
                                                        sealedOf(hit.getSourceAsMap(), hit.getId()),
                                                        hit.getSeqNo(),
                                                        hit.getPrimaryTerm()));
                                            }
                                            l.onResponse(out);
                                        },
                                        e -> {
                                            if (ExceptionsHelper.unwrapCause(e) instanceof IndexNotFoundException) {
                                                l.onResponse(List.of());
                                            } else {
                                                l.onFailure(e);
                                            }
                                        })));
    }

    /** Stores a new model; 409 if the id is taken. */
    public void create(String id, String sealedJson, int epoch, ActionListener<IndexResponse> listener) {
        IndexRequest request = new IndexRequest(INDEX)
                .id(id)
                .opType(DocWriteRequest.OpType.CREATE)
                .source(Map.of("model_id", id, "epoch", epoch, "sealed", sealedJson))
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        run(
                listener,
                l -> ensureIndex(ActionListener.wrap(
                        ok -> client().index(request, ActionListener.wrap(l::onResponse, e -> {
                            if (ExceptionsHelper.unwrapCause(e) instanceof VersionConflictEngineException) {
                                l.onFailure(alreadyExists(id));
                            } else {
                                l.onFailure(e);
                            }
                        })),
                        l::onFailure)));
    }

    /** Replaces a model document if it is still at (seqNo, primaryTerm) (optimistic concurrency: concurrent rotations). */
    public void replace(StoredModel previous, String sealedJson, int epoch, ActionListener<IndexResponse> listener) {
        IndexRequest request = new IndexRequest(INDEX)
                .id(previous.id())
                .source(Map.of("model_id", previous.id(), "epoch", epoch, "sealed", sealedJson))
                .setIfSeqNo(previous.seqNo())
                .setIfPrimaryTerm(previous.primaryTerm())
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        run(
                listener,
                l -> client().index(request, ActionListener.wrap(l::onResponse, e -> {
                    if (ExceptionsHelper.unwrapCause(e) instanceof VersionConflictEngineException) {
                        l.onFailure(new OpenSearchStatusException(
                                "model [" + previous.id()
                                        + "] was changed concurrently (another rotation or a delete); retry",
                                RestStatus.CONFLICT));
                    } else {
                        l.onFailure(e);
                    }
                })));
    }

    /** Deletes a model; responds false if there was none. */
    public void delete(String id, ActionListener<Boolean> listener) {
        DeleteRequest request = new DeleteRequest(INDEX, id).setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        run(
                listener,
                l -> client().delete(
                                request,
                                ActionListener.wrap(
                                        (DeleteResponse r) -> l.onResponse(
                                                r.getResult() == org.opensearch.action.DocWriteResponse.Result.DELETED),
                                        e -> {
                                            if (ExceptionsHelper.unwrapCause(e) instanceof IndexNotFoundException) {
                                                l.onResponse(false);
                                            } else {
                                                l.onFailure(e);
                                            }
                                        })));
    }

    /** 409: model ids are never reused silently (documents encrypted under the old fit would become meaningless). */
    public static OpenSearchStatusException alreadyExists(String id) {
        return new OpenSearchStatusException(
                "model [" + id
                        + "] already exists; models are immutable (indexed vectors depend on them): delete it first, "
                        + "or use POST _plugins/encrypted_knn/models/" + id + "/_rotate for a new key epoch",
                RestStatus.CONFLICT);
    }

    private void ensureIndex(ActionListener<Void> listener) {
        CreateIndexRequest create = new CreateIndexRequest(INDEX)
                .settings(Settings.builder()
                        .put("index.number_of_shards", 1)
                        .put("index.auto_expand_replicas", "0-1")
                        .put("index.hidden", true)
                        .build())
                .mapping(MAPPING);
        client().admin().indices().create(create, ActionListener.wrap(r -> listener.onResponse(null), e -> {
            if (ExceptionsHelper.unwrapCause(e) instanceof ResourceAlreadyExistsException) {
                listener.onResponse(null);
            } else {
                listener.onFailure(e);
            }
        }));
    }

    private static String sealedOf(Map<String, Object> source, String id) {
        Object sealed = source == null ? null : source.get("sealed");
        if (sealed instanceof String s) {
            return s;
        }
        throw new IllegalStateException(
                "registry document of model [" + id + "] in " + INDEX + " has no [sealed] model");
    }
}
