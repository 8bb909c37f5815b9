package org.encryptedknn.rest;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import org.encryptedknn.keystore.KeyLease;
import org.encryptedknn.keystore.KeystoreSettings;
import org.encryptedknn.keystore.ModelStore;
import org.encryptedknn.keystore.NodeKeyHolder;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelFitter;
import org.encryptedknn.model.ModelMetadata;
import org.encryptedknn.model.ModelParameters;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.model.Space;
import org.encryptedknn.model.WindowCalibration;
import org.encryptedknn.xcontent.RequestParsing;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.ParseField;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestChannel;
import org.opensearch.rest.RestRequest;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.node.NodeClient;

/**
 * The model registry endpoints (gateway mode):
 * <pre>
 *   POST|PUT /_plugins/encrypted_knn/models/{model_id}          fit + store (needs the key)        201 {"model_id","result":"created","model":{public}}
 *   GET      /_plugins/encrypted_knn/models/{model_id}          public metadata (no key needed)    200 {"model_id","model":{public}}
 *   GET      /_plugins/encrypted_knn/models                     list                               200 {"models":[{public},…]}
 *   DELETE   /_plugins/encrypted_knn/models/{model_id}                                             200 {"model_id","result":"deleted"}
 *   POST     /_plugins/encrypted_knn/models/{model_id}/_rotate  new key epoch (needs the key)      200 {"model_id","result":"rotated","previous_epoch","model":{public}}
 *   POST     /_plugins/encrypted_knn/models/{model_id}/_retire  retire epochs below {"below":e}     200 {"model_id","result":"retired","first_epoch","model":{public}}
 *                                                               (default: all but the current one; needs the key)
 * </pre>
 * PUT body: {@code {"dimension":384,"space":"cosine","prefix_dimension":96,"cells":64,"beta":0.5,"target_recall":0.95,
 * "prefix_layout":"augmented","training_vectors":[[…],…]}} (space defaults to cosine, prefix_dimension to dimension/4,
 * cells to 64, beta to 0.5, prefix_layout to augmented ({@link PrefixLayout}; plain: the layout of the models fitted
 * before);
 * target_recall, 0.95 by default, is what the model's default window k is calibrated for, {@link WindowCalibration}). The fit runs on this node's
 * generic thread pool. Responses carry {@link ModelCodec#publicJson} only: never a secret.
 */
public final class RestModelsAction extends BaseRestHandler {

    public static final String BASE = "/_plugins/encrypted_knn/models";
    private final NodeKeyHolder gateway;

    public RestModelsAction(NodeKeyHolder gateway) {
        this.gateway = gateway;
    }

    @Override
    public String getName() {
        return "encrypted_knn_models_action";
    }

    @Override
    public List<Route> routes() {
        return List.of(
                new Route(RestRequest.Method.POST, BASE + "/{model_id}"),
                new Route(RestRequest.Method.PUT, BASE + "/{model_id}"),
                new Route(RestRequest.Method.GET, BASE + "/{model_id}"),
                new Route(RestRequest.Method.DELETE, BASE + "/{model_id}"),
                new Route(RestRequest.Method.GET, BASE),
                new Route(RestRequest.Method.POST, BASE + "/{model_id}/_rotate"),
                new Route(RestRequest.Method.POST, BASE + "/{model_id}/_retire"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        String id = request.param("model_id");
        if (id != null) {
            EncryptionModel.checkId(id);
        }
        boolean rotate = request.path().endsWith("/_rotate");
        boolean retire = request.path().endsWith("/_retire");
        return switch (request.method()) {
            case GET -> id == null ? list() : get(id);
            case DELETE -> delete(id);
            case POST, PUT ->
                rotate ? rotate(id) : retire ? retire(id, retireBelow(request)) : put(id, request, client.threadPool());
            default -> throw new IllegalArgumentException("unsupported method " + request.method());
        };
    }

    // ------------------------------------------------------------------ PUT

    private RestChannelConsumer put(String id, RestRequest request, ThreadPool threadPool) throws IOException {
        if (request.hasContentOrSourceParam() == false) {
            throw new IllegalArgumentException(
                    "request body is required: {\"dimension\":…,\"space\":…,\"training_vectors\":[[…],…]}");
        }
        FitRequest fit;
        try (XContentParser parser = request.contentOrSourceParamParser()) {
            fit = FitRequest.parse(parser);
        }
        KeyLease lease = gateway.acquire(); // fails fast (400 naming the setting) on a node without the key
        return channel -> gateway.store()
                .get(
                        id,
                        ActionListener.wrap(
                                existing -> {
                                    if (existing != null) {
                                        lease.close();
                                        sendError(channel, ModelStore.alreadyExists(id)); // before spending a fit on it
                                        return;
                                    }
                                    fitAndStore(id, fit, lease, channel, threadPool);
                                },
                                e -> {
                                    lease.close();
                                    sendError(channel, e);
                                }));
    }

    private void fitAndStore(String id, FitRequest fit, KeyLease lease, RestChannel channel, ThreadPool threadPool) {
        {
            try {
                threadPool.generic().execute(() -> {
                    String sealed;
                    EncryptionModel model;
                    try {
                        model = ModelFitter.fit(
                                id,
                                fit.parameters(),
                                fit.vectors(),
                                Instant.now(),
                                fit.targetRecall(),
                                fit.prefixLayout());
                        sealed = gateway.seal(lease, model);
                    } catch (Exception e) {
                        lease.close();
                        sendError(channel, e);
                        return;
                    }
                    lease.close();
                    gateway.store()
                            .create(
                                    id,
                                    sealed,
                                    model.epoch(),
                                    ActionListener.wrap(
                                            r -> {
                                                gateway.invalidate(id);
                                                send(channel, RestStatus.CREATED, b -> {
                                                    b.field("model_id", id).field("result", "created");
                                                    b.field("model", publicMap(ModelMetadata.of(model)));
                                                });
                                            },
                                            e -> sendError(channel, e)));
                });
            } catch (RuntimeException e) {
                lease.close();
                sendError(channel, e);
            }
        }
    }

    /** The parsed PUT body. */
    record FitRequest(ModelParameters parameters, float[][] vectors, double targetRecall, PrefixLayout prefixLayout) {

        /** The body's fields while it is parsed. */
        private static final class Body {
            Integer dimension;
            String space;
            Integer prefix;
            Integer cells;
            Double beta;
            Double targetRecall;
            String prefixLayout;
            boolean insecure;
            List<float[]> vectors;
        }

        private static final ObjectParser<Body, Void> BODY = new ObjectParser<>("model", Body::new);

        static {
            declareInteger((b, v) -> b.dimension = v, "dimension");
            declareInteger((b, v) -> b.prefix = v, "prefix_dimension");
            declareInteger((b, v) -> b.cells = v, "cells");
            BODY.declareField(
                    (x, b, c) -> b.space = scalar(
                                    x,
                                    XContentParser.Token.VALUE_STRING,
                                    "[space] must be a string: cosine or inner_product")
                            .text(),
                    new ParseField("space"),
                    ObjectParser.ValueType.VALUE);
            BODY.declareField(
                    (x, b, c) -> b.prefixLayout = scalar(
                                    x,
                                    XContentParser.Token.VALUE_STRING,
                                    "[prefix_layout] must be a string: augmented or plain")
                            .text(),
                    new ParseField("prefix_layout"),
                    ObjectParser.ValueType.VALUE);
            declareNumber((b, v) -> b.beta = v, "beta");
            declareNumber((b, v) -> b.targetRecall = v, "target_recall");
            BODY.declareField(
                    (x, b, c) -> b.insecure = scalar(
                                    x, XContentParser.Token.VALUE_BOOLEAN, "[insecure] must be true or false")
                            .booleanValue(),
                    new ParseField("insecure"),
                    ObjectParser.ValueType.VALUE);
            BODY.declareField(
                    (x, b, c) -> b.vectors = vectors(x, b.dimension),
                    new ParseField("training_vectors"),
                    ObjectParser.ValueType.VALUE_ARRAY);
        }

        private static void declareNumber(BiConsumer<Body, Double> setter, String name) {
            BODY.declareField(
                    setter,
                    (x, c) -> scalar(x, XContentParser.Token.VALUE_NUMBER, "[" + name + "] must be a number")
                            .doubleValue(),
                    new ParseField(name),
                    ObjectParser.ValueType.VALUE);
        }

        private static void declareInteger(BiConsumer<Body, Integer> setter, String name) {
            BODY.declareField(setter, (x, c) -> integer(x, name), new ParseField(name), ObjectParser.ValueType.VALUE);
        }

        /** The parser, at a value of type {@code expected}; else {@code problem} (names the field, not the value). */
        private static XContentParser scalar(XContentParser parser, XContentParser.Token expected, String problem) {
            if (parser.currentToken() != expected) {
                throw RequestParsing.bad(problem);
            }
            return parser;
        }

        static FitRequest parse(XContentParser parser) throws IOException {
            if (parser.currentToken() == null) {
                parser.nextToken();
            }
            if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
                throw new IllegalArgumentException("request body must be a JSON object");
            }
            Body body = RequestParsing.parse(BODY, parser, new Body(), null);
            Integer dimension = body.dimension;
            String space = body.space;
            Integer prefix = body.prefix;
            Integer cells = body.cells;
            Double beta = body.beta;
            boolean insecure = body.insecure;
            List<float[]> vectors = body.vectors;
            if (dimension == null) {
                throw new IllegalArgumentException("[dimension] is required");
            }
            if (dimension < 2 || dimension > ModelParameters.MAX_DIMENSION) {
                throw new IllegalArgumentException(
                        "[dimension] must be in [2, " + ModelParameters.MAX_DIMENSION + "], got " + dimension);
            }
            if (vectors == null) {
                throw new IllegalArgumentException(
                        "[training_vectors] is required: an array of vectors of [dimension] numbers");
            }
            for (int i = 0; i < vectors.size(); i++) {
                if (vectors.get(i).length != dimension) {
                    throw new IllegalArgumentException("training_vectors[" + i + "] has " + vectors.get(i).length
                            + " values but [dimension] is " + dimension);
                }
            }
            Space s = Space.parse(space == null ? "cosine" : space);
            ModelParameters params = new ModelParameters(
                    dimension,
                    s,
                    prefix == null ? ModelParameters.defaultPrefixDimension(dimension) : prefix,
                    cells == null ? ModelParameters.DEFAULT_CELLS : cells,
                    beta == null ? ModelParameters.DEFAULT_BETA : beta,
                    1);
            params.requireSecure(insecure, name -> "[" + name + "]");
            double target = body.targetRecall == null
                    ? WindowCalibration.DEFAULT_TARGET_RECALL
                    : WindowCalibration.checkTarget(body.targetRecall, "[target_recall]");
            PrefixLayout layout = body.prefixLayout == null
                    ? PrefixLayout.AUGMENTED
                    : PrefixLayout.parse(body.prefixLayout, "prefix_layout");
            return new FitRequest(params, vectors.toArray(new float[0][]), target, layout);
        }

        private static int integer(XContentParser parser, String key) throws IOException {
            if (parser.currentToken() != XContentParser.Token.VALUE_NUMBER
                    || (parser.numberType() != XContentParser.NumberType.INT
                            && parser.numberType() != XContentParser.NumberType.LONG)) {
                throw RequestParsing.bad("[" + key + "] must be an integer");
            }
            long v = parser.longValue();
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw RequestParsing.bad("[" + key + "] is out of range");
            }
            return (int) v;
        }

        private static List<float[]> vectors(XContentParser parser, Integer dimension) throws IOException {
            if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
                throw RequestParsing.bad("[training_vectors] must be an array of arrays of numbers");
            }
            List<float[]> out = new ArrayList<>();
            XContentParser.Token token;
            while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
                int i = out.size();
                if (token != XContentParser.Token.START_ARRAY) {
                    throw RequestParsing.bad("training_vectors[" + i + "] must be an array of numbers");
                }
                // [dimension] is validated after parsing; here it is only a capacity hint and may be anything.
                float[] row = new float
                        [dimension == null || dimension < 1 ? 16 : Math.min(dimension, ModelParameters.MAX_DIMENSION)];
                int n = 0;
                while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
                    if (token != XContentParser.Token.VALUE_NUMBER) {
                        throw RequestParsing.bad("training_vectors[" + i + "][" + n + "] must be a number");
                    }
                    if (n >= ModelParameters.MAX_DIMENSION) {
                        throw RequestParsing.bad(
                                "training_vectors[" + i + "] is longer than " + ModelParameters.MAX_DIMENSION);
                    }
                    float f = parser.floatValue();
                    if (Float.isFinite(f) == false) {
                        throw RequestParsing.bad(
                                "training_vectors[" + i + "][" + n + "] is not a finite float32 (NaN or infinite)");
                    }
                    if (n == row.length) {
                        row = java.util.Arrays.copyOf(row, row.length * 2);
                    }
                    row[n++] = f;
                }
                out.add(n == row.length ? row : java.util.Arrays.copyOf(row, n));
            }
            return out;
        }
    }

    // ------------------------------------------------------------------ GET / list / DELETE

    private RestChannelConsumer get(String id) {
        return channel -> gateway.store()
                .get(
                        id,
                        ActionListener.wrap(
                                stored -> {
                                    if (stored == null) {
                                        sendError(channel, KeystoreSettings.modelNotFound(id));
                                        return;
                                    }
                                    ModelMetadata meta = ModelCodec.readMetadata(stored.sealedJson());
                                    send(
                                            channel,
                                            RestStatus.OK,
                                            b -> b.field("model_id", id).field("model", publicMap(meta)));
                                },
                                e -> sendError(channel, e)));
    }

    private RestChannelConsumer list() {
        return channel -> gateway.store()
                .list(ActionListener.wrap(
                        models -> send(channel, RestStatus.OK, b -> {
                            b.startArray("models");
                            for (ModelStore.StoredModel m : models) {
                                b.map(publicMap(ModelCodec.readMetadata(m.sealedJson())));
                            }
                            b.endArray();
                        }),
                        e -> sendError(channel, e)));
    }

    private RestChannelConsumer delete(String id) {
        return channel -> gateway.store()
                .delete(
                        id,
                        ActionListener.wrap(
                                deleted -> {
                                    gateway.invalidate(id);
                                    if (deleted) {
                                        send(
                                                channel,
                                                RestStatus.OK,
                                                b -> b.field("model_id", id).field("result", "deleted"));
                                    } else {
                                        sendError(channel, KeystoreSettings.modelNotFound(id));
                                    }
                                },
                                e -> sendError(channel, e)));
    }

    // ------------------------------------------------------------------ _rotate, _retire

    private RestChannelConsumer rotate(String id) {
        return reseal(id, EncryptionModel::rotated, (model, previous, b) -> {
            b.field("result", "rotated").field("previous_epoch", previous.epoch());
        });
    }

    /** {@code {"below":e}} of a {@code _retire} request, or null (retire all but the current epoch). */
    private static Integer retireBelow(RestRequest request) throws IOException {
        if (request.hasContentOrSourceParam() == false) {
            return null;
        }
        Map<String, Object> body;
        try (XContentParser parser = request.contentOrSourceParamParser()) {
            body = parser.map();
        }
        for (String key : body.keySet()) {
            if (key.equals("below") == false) {
                throw new IllegalArgumentException(
                        "[_retire] unknown field [" + key + "]; the body is {\"below\": epoch}");
            }
        }
        if (body.get("below") instanceof Integer below) {
            return below;
        }
        throw new IllegalArgumentException("[_retire] [below] must be an integer epoch");
    }

    private RestChannelConsumer retire(String id, Integer below) {
        return reseal(
                id,
                model -> {
                    int first = below == null ? model.epoch() : below;
                    if (model.parameters().firstEpoch() == model.epoch()) {
                        throw new IllegalArgumentException("[_retire] model [" + id + "] has one live epoch ("
                                + model.epoch() + "): nothing to retire; _rotate first, re-key, then retire");
                    }
                    if (first <= model.parameters().firstEpoch() || first > model.epoch()) {
                        throw new IllegalArgumentException("[_retire] [below] must be in ["
                                + (model.parameters().firstEpoch() + 1) + ", "
                                + model.epoch() + "] for model [" + id + "] (live epochs "
                                + model.parameters().firstEpoch() + ".." + model.epoch()
                                + "), got " + first);
                    }
                    return model.withFirstEpoch(first);
                },
                (model, previous, b) -> b.field("result", "retired")
                        .field("first_epoch", model.parameters().firstEpoch()));
    }

    private interface Result {
        void write(EncryptionModel changed, EncryptionModel previous, XContentBuilder builder) throws IOException;
    }

    /** Opens the stored model under the key, applies {@code change}, seals and stores it (sequence-checked), answers 200. */
    private RestChannelConsumer reseal(String id, UnaryOperator<EncryptionModel> change, Result result) {
        KeyLease lease = gateway.acquire();
        return channel -> gateway.store()
                .get(
                        id,
                        ActionListener.wrap(
                                stored -> {
                                    if (stored == null) {
                                        lease.close();
                                        sendError(channel, KeystoreSettings.modelNotFound(id));
                                        return;
                                    }
                                    EncryptionModel model;
                                    EncryptionModel changed;
                                    String sealed;
                                    try {
                                        model = gateway.open(lease, id, stored.sealedJson());
                                        changed = change.apply(model);
                                        sealed = gateway.seal(lease, changed);
                                    } catch (RuntimeException e) {
                                        sendError(channel, e);
                                        return;
                                    } finally {
                                        lease.close();
                                    }
                                    gateway.store()
                                            .replace(
                                                    stored,
                                                    sealed,
                                                    changed.epoch(),
                                                    ActionListener.wrap(
                                                            r -> {
                                                                gateway.stored(changed);
                                                                send(channel, RestStatus.OK, b -> {
                                                                    b.field("model_id", id);
                                                                    result.write(changed, model, b);
                                                                    b.field(
                                                                            "model",
                                                                            publicMap(ModelMetadata.of(changed)));
                                                                });
                                                            },
                                                            e -> sendError(channel, e)));
                                },
                                e -> {
                                    lease.close();
                                    sendError(channel, e);
                                }));
    }

    // ------------------------------------------------------------------ helpers

    static Map<String, Object> publicMap(ModelMetadata meta) {
        return XContentHelper.convertToMap(
                        new BytesArray(ModelCodec.publicJson(meta)),
                        true,
                        org.opensearch.common.xcontent.XContentType.JSON)
                .v2();
    }

    private interface Body {
        void write(XContentBuilder builder) throws IOException;
    }

    private static void send(RestChannel channel, RestStatus status, Body body) {
        try {
            XContentBuilder builder = channel.newBuilder();
            builder.startObject();
            body.write(builder);
            builder.endObject();
            channel.sendResponse(new BytesRestResponse(status, builder));
        } catch (Exception e) {
            sendError(channel, e);
        }
    }

    private static void sendError(RestChannel channel, Exception e) {
        try {
            channel.sendResponse(new BytesRestResponse(channel, e));
        } catch (IOException inner) {
            inner.addSuppressed(e);
            throw new java.io.UncheckedIOException(inner);
        }
    }

    static XContentBuilder json() throws IOException {
        return JsonXContent.contentBuilder();
    }
}
