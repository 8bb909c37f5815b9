package org.encryptedknn.query;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.BiConsumer;
import org.apache.lucene.document.IntField;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Query;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.mapper.ResidualDocValues;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.xcontent.RequestParsing;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

/**
 * {@code {"encrypted_knn":{"embedding":{"encrypted_vector":[…],"k":100,"num_candidates":200,"filter":{…},
 * "model_id":"m1","epoch":1}}}}: approximate nearest neighbours of an encrypted query prefix (SAP_Q ciphertext) among
 * the encrypted document prefixes, by L2 over HNSW.
 *
 * <ul>
 *   <li>{@code k} (1…{@value #MAX_K}): hits per shard; {@code num_candidates} (default k, k…{@value #MAX_K}):
 *       HNSW candidates explored per segment. Required with {@code encrypted_vector}; with a plain {@code vector} it
 *       may be left out, and the {@code encrypted_knn_query} processor sets the model's calibrated default window
 *       ({@link #MODEL_DEFAULT_K} until then).</li>
 *   <li>{@code filter}: any query; documents must match it (Lucene pre-filtering).</li>
 *   <li>{@code model_id}: if given, must be the field's model — a query encrypted under another model is a 400.</li>
 *   <li>{@code epoch}: if given, only documents encrypted under that key epoch match (segments of two epochs
 *       coexist during a rotation); no document of that epoch means no hits.</li>
 *   <li>{@code vector}: a plaintext vector. It parses, so that the {@code encrypted_knn_query} search request
 *       processor (gateway mode) can find it and replace it with {@code encrypted_vector}
 *       ({@link #plainVector()}, {@link #withEncryptedVector}). If it is still there when the request is rewritten
 *       for the shards, or when a data node would build the query, the request fails with a 400. It is never
 *       serialized to another node.</li>
 * </ul>
 */
public final class EncryptedKnnQueryBuilder extends AbstractQueryBuilder<EncryptedKnnQueryBuilder> {

    public static final String NAME = "encrypted_knn";
    public static final int MAX_K = 10_000;
    /** {@code k} of a plain-vector query that did not set it: the gateway uses the model's default window. */
    public static final int MODEL_DEFAULT_K = 0;

    static final ParseField ENCRYPTED_VECTOR = new ParseField("encrypted_vector");
    static final ParseField VECTOR = new ParseField("vector");
    static final ParseField K = new ParseField("k");
    static final ParseField NUM_CANDIDATES = new ParseField("num_candidates");
    static final ParseField FILTER = new ParseField("filter");
    static final ParseField MODEL_ID = new ParseField("model_id");
    static final ParseField EPOCH = new ParseField("epoch");

    public static final String PLAIN_VECTOR_MESSAGE =
            "plain vectors must be encrypted by the encrypted_knn_query search pipeline (or the client library) before they reach a data node";

    private final String fieldName;
    private final float[] encryptedVector;
    private final float[] plainVector; // coordinator-only, never serialized
    private final int k;
    private final Integer numCandidates;
    private final QueryBuilder filter;
    private final String modelId;
    private final Integer epoch;

    public EncryptedKnnQueryBuilder(String fieldName, float[] encryptedVector, int k) {
        this(fieldName, encryptedVector, null, k, null, null, null, null);
    }

    private EncryptedKnnQueryBuilder(
            String fieldName,
            float[] encryptedVector,
            float[] plainVector,
            int k,
            Integer numCandidates,
            QueryBuilder filter,
            String modelId,
            Integer epoch) {
        if (fieldName == null || fieldName.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires a field name");
        }
        if ((encryptedVector == null) == (plainVector == null)) {
            throw new IllegalArgumentException("[" + NAME + "] on field [" + fieldName
                    + "] requires exactly one of [encrypted_vector] or [vector]");
        }
        if ((k < 1 || k > MAX_K) && (k != MODEL_DEFAULT_K || plainVector == null)) {
            throw new IllegalArgumentException("[" + NAME + "] [k] must be in [1, " + MAX_K + "], got " + k);
        }
        if (numCandidates != null && (numCandidates < Math.max(1, k) || numCandidates > MAX_K)) {
            throw new IllegalArgumentException(
                    "[" + NAME + "] [num_candidates] must be in [k=" + k + ", " + MAX_K + "], got " + numCandidates);
        }
        if (epoch != null && epoch < 1) {
            throw new IllegalArgumentException("[" + NAME + "] [epoch] must be >= 1, got " + epoch);
        }
        if (encryptedVector != null) {
            checkFinite(encryptedVector, "encrypted_vector");
        }
        this.fieldName = fieldName;
        this.encryptedVector = encryptedVector;
        this.plainVector = plainVector;
        this.k = k;
        this.numCandidates = numCandidates;
        this.filter = filter;
        this.modelId = modelId;
        this.epoch = epoch;
    }

    public EncryptedKnnQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.fieldName = in.readString();
        this.encryptedVector = in.readFloatArray();
        this.plainVector = null;
        this.k = in.readVInt();
        this.numCandidates = in.readOptionalVInt();
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        this.modelId = in.readOptionalString();
        this.epoch = in.readOptionalVInt();
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        if (plainVector != null) {
            // The one place a plaintext query vector could leave the coordinating node: refuse.
            throw new IllegalArgumentException(PLAIN_VECTOR_MESSAGE);
        }
        out.writeString(fieldName);
        out.writeFloatArray(encryptedVector);
        out.writeVInt(k);
        out.writeOptionalVInt(numCandidates);
        out.writeOptionalNamedWriteable(filter);
        out.writeOptionalString(modelId);
        out.writeOptionalVInt(epoch);
    }

    public EncryptedKnnQueryBuilder numCandidates(Integer numCandidates) {
        return copy(encryptedVector, plainVector, numCandidates, filter, modelId, epoch);
    }

    public EncryptedKnnQueryBuilder filter(QueryBuilder filter) {
        return copy(encryptedVector, plainVector, numCandidates, filter, modelId, epoch);
    }

    public EncryptedKnnQueryBuilder modelId(String modelId) {
        return copy(encryptedVector, plainVector, numCandidates, filter, modelId, epoch);
    }

    public EncryptedKnnQueryBuilder epoch(Integer epoch) {
        return copy(encryptedVector, plainVector, numCandidates, filter, modelId, epoch);
    }

    /** A query carrying a plaintext vector, as a search request arrives in gateway mode (tests and processors). */
    public static EncryptedKnnQueryBuilder plain(String fieldName, float[] vector, int k) {
        return new EncryptedKnnQueryBuilder(fieldName, null, vector.clone(), k, null, null, null, null);
    }

    /** For the search request processor: the same query with the plaintext replaced by its encryption. */
    public EncryptedKnnQueryBuilder withEncryptedVector(float[] encrypted, String modelId, Integer epoch) {
        return withEncryptedVector(encrypted, modelId, epoch, k);
    }

    /** As {@link #withEncryptedVector(float[], String, Integer)}, with {@code k} set (the model's default window). */
    public EncryptedKnnQueryBuilder withEncryptedVector(float[] encrypted, String modelId, Integer epoch, int k) {
        EncryptedKnnQueryBuilder out = new EncryptedKnnQueryBuilder(
                fieldName, encrypted.clone(), null, k, numCandidates, filter, modelId, epoch);
        out.boost(boost).queryName(queryName);
        return out;
    }

    private EncryptedKnnQueryBuilder copy(float[] ev, float[] pv, Integer nc, QueryBuilder f, String model, Integer e) {
        EncryptedKnnQueryBuilder out = new EncryptedKnnQueryBuilder(fieldName, ev, pv, k, nc, f, model, e);
        out.boost(boost).queryName(queryName);
        return out;
    }

    public String fieldName() {
        return fieldName;
    }

    /** The encrypted query prefix, or null while the query still carries a plaintext vector. */
    public float[] encryptedVector() {
        return encryptedVector == null ? null : encryptedVector.clone();
    }

    /** The plaintext vector awaiting encryption by the search request processor, or null. */
    public float[] plainVector() {
        return plainVector == null ? null : plainVector.clone();
    }

    /** Hits per shard; {@link #MODEL_DEFAULT_K} for a plain-vector query that left it to the model. */
    public int k() {
        return k;
    }

    public Integer numCandidates() {
        return numCandidates;
    }

    public QueryBuilder filter() {
        return filter;
    }

    public String modelId() {
        return modelId;
    }

    public Integer epoch() {
        return epoch;
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.startObject(fieldName);
        if (encryptedVector != null) {
            builder.field(ENCRYPTED_VECTOR.getPreferredName(), encryptedVector);
        } else {
            builder.field(VECTOR.getPreferredName(), plainVector);
        }
        if (k != MODEL_DEFAULT_K) {
            builder.field(K.getPreferredName(), k);
        }
        if (numCandidates != null) {
            builder.field(NUM_CANDIDATES.getPreferredName(), numCandidates);
        }
        if (filter != null) {
            builder.field(FILTER.getPreferredName(), filter);
        }
        if (modelId != null) {
            builder.field(MODEL_ID.getPreferredName(), modelId);
        }
        if (epoch != null) {
            builder.field(EPOCH.getPreferredName(), epoch);
        }
        printBoostAndQueryName(builder);
        builder.endObject();
        builder.endObject();
    }

    /** The inner object {@code {"encrypted_vector":[…],"k":…,…}} while it is parsed. */
    private static final class ParsedFields {
        float[] encryptedVector;
        float[] plainVector;
        Integer k;
        Integer numCandidates;
        QueryBuilder filter;
        String modelId;
        Integer epoch;
        float boost = DEFAULT_BOOST;
        String queryName;
    }

    private static final ObjectParser<ParsedFields, Void> PARSER = new ObjectParser<>(NAME, ParsedFields::new);

    static {
        declareFloats((p, v) -> p.encryptedVector = v, ENCRYPTED_VECTOR);
        declareFloats((p, v) -> p.plainVector = v, VECTOR);
        declareInt((p, v) -> p.k = v, K);
        declareInt((p, v) -> p.numCandidates = v, NUM_CANDIDATES);
        declareInt((p, v) -> p.epoch = v, EPOCH);
        PARSER.declareField(
                (p, v) -> p.filter = v, (x, c) -> parseInnerQueryBuilder(x), FILTER, ObjectParser.ValueType.OBJECT);
        PARSER.declareString((p, v) -> p.modelId = v, MODEL_ID);
        PARSER.declareFloat((p, v) -> p.boost = v, BOOST_FIELD);
        PARSER.declareString((p, v) -> p.queryName = v, NAME_FIELD);
    }

    private static void declareFloats(BiConsumer<ParsedFields, float[]> setter, ParseField field) {
        PARSER.declareField(
                setter, (x, c) -> parseFloats(x, field.getPreferredName()), field, ObjectParser.ValueType.FLOAT_ARRAY);
    }

    private static void declareInt(BiConsumer<ParsedFields, Integer> setter, ParseField field) {
        PARSER.declareField(setter, (x, c) -> parseInt(x, field.getPreferredName()), field, ObjectParser.ValueType.INT);
    }

    /** {@code {"<field>": {…}}}: the field name by hand (as OpenSearch's field queries do), its object by {@link #PARSER}. */
    public static EncryptedKnnQueryBuilder fromXContent(XContentParser parser) throws IOException {
        XContentParser.Token token = parser.currentToken();
        if (token != XContentParser.Token.START_OBJECT) {
            token = parser.nextToken();
        }
        if (token != XContentParser.Token.START_OBJECT) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] expects an object");
        }
        String fieldName = null;
        ParsedFields params = null;
        String currentName = null;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token == XContentParser.Token.FIELD_NAME) {
                currentName = parser.currentName();
            } else if (token == XContentParser.Token.START_OBJECT) {
                throwParsingExceptionOnMultipleFields(NAME, parser.getTokenLocation(), fieldName, currentName);
                fieldName = currentName;
                params = RequestParsing.parse(PARSER, parser, new ParsedFields(), null);
            } else {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] expects {\"<field>\": {…}}");
            }
        }
        if (fieldName == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] requires a field");
        }
        if (params.encryptedVector != null && params.plainVector != null) {
            throw new ParsingException(
                    parser.getTokenLocation(), "[" + NAME + "] takes [encrypted_vector] or [vector], not both");
        }
        if (params.encryptedVector == null && params.plainVector == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] requires [encrypted_vector]");
        }
        if (params.k == null && params.plainVector == null) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] requires [k]");
        }
        try {
            EncryptedKnnQueryBuilder builder = new EncryptedKnnQueryBuilder(
                    fieldName,
                    params.encryptedVector,
                    params.plainVector,
                    params.k == null ? MODEL_DEFAULT_K : params.k,
                    params.numCandidates,
                    params.filter,
                    params.modelId,
                    params.epoch);
            builder.boost(params.boost).queryName(params.queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage());
        }
    }

    private static float[] parseFloats(XContentParser parser, String name) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw RequestParsing.bad("[" + NAME + "] [" + name + "] must be an array of numbers");
        }
        float[] values = new float[16];
        int n = 0;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            if (token != XContentParser.Token.VALUE_NUMBER) {
                throw RequestParsing.bad("[" + NAME + "] [" + name + "] must be an array of numbers");
            }
            if (n >= EncryptedKnnVectorFieldMapper.MAX_DIMENSION) {
                throw RequestParsing.bad("[" + NAME + "] [" + name + "] is too long");
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, values.length * 2);
            }
            values[n++] = parser.floatValue();
        }
        return Arrays.copyOf(values, n);
    }

    private static int parseInt(XContentParser parser, String name) throws IOException {
        if (parser.currentToken() != XContentParser.Token.VALUE_NUMBER
                || (parser.numberType() != XContentParser.NumberType.INT
                        && parser.numberType() != XContentParser.NumberType.LONG)) {
            throw RequestParsing.bad("[" + NAME + "] [" + name + "] must be an integer");
        }
        long v = parser.longValue();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw RequestParsing.bad("[" + NAME + "] [" + name + "] is out of range");
        }
        return (int) v;
    }

    private static void checkFinite(float[] vector, String name) {
        for (int i = 0; i < vector.length; i++) {
            if (!Float.isFinite(vector[i])) {
                throw new IllegalArgumentException("[" + NAME + "] [" + name + "][" + i + "] is not a finite float32");
            }
        }
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (plainVector != null) {
            PluginStats.QUERY_REJECTIONS.increment();
            throw new IllegalArgumentException(PLAIN_VECTOR_MESSAGE);
        }
        if (filter != null) {
            QueryBuilder rewritten = filter.rewrite(context);
            if (rewritten != filter) {
                return copy(encryptedVector, null, numCandidates, rewritten, modelId, epoch);
            }
        }
        return this;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        try {
            return buildQuery(context);
        } catch (IllegalArgumentException e) {
            PluginStats.QUERY_REJECTIONS.increment();
            throw e;
        }
    }

    private Query buildQuery(QueryShardContext context) throws IOException {
        if (plainVector != null) {
            throw new IllegalArgumentException(PLAIN_VECTOR_MESSAGE);
        }
        MappedFieldType type = context.fieldMapper(fieldName);
        if (type == null) {
            throw new IllegalArgumentException("[" + NAME + "] field [" + fieldName + "] is not mapped in index ["
                    + context.index().getName() + "]");
        }
        if (!(type instanceof EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType encrypted)) {
            throw new IllegalArgumentException("[" + NAME + "] field [" + fieldName + "] is of type [" + type.typeName()
                    + "], not [" + EncryptedKnnVectorFieldMapper.CONTENT_TYPE + "]");
        }
        EncryptedFieldSpec spec = encrypted.spec();
        if (modelId != null && !modelId.equals(spec.modelId())) {
            throw new IllegalArgumentException("query encrypted under model [" + modelId + "] but field [" + fieldName
                    + "] uses model [" + spec.modelId() + "]");
        }
        if (encryptedVector.length != spec.prefixWidth()) {
            throw new IllegalArgumentException("[" + NAME + "] [encrypted_vector] has " + encryptedVector.length
                    + " values but field [" + fieldName + "] has prefix width " + spec.prefixWidth()
                    + " (prefix_dimension, plus one for the augmented prefix_layout)");
        }
        checkSegments(context.getIndexReader(), spec);

        List<Query> filters = new ArrayList<>(2);
        if (filter != null) {
            filters.add(filter.toQuery(context));
        }
        if (epoch != null) {
            filters.add(IntField.newExactQuery(ResidualDocValues.epochField(spec.field()), epoch));
        }
        Query luceneFilter = null;
        if (filters.size() == 1) {
            luceneFilter = filters.get(0);
        } else if (filters.size() > 1) {
            BooleanQuery.Builder bool = new BooleanQuery.Builder();
            filters.forEach(f -> bool.add(f, BooleanClause.Occur.FILTER));
            luceneFilter = bool.build();
        }
        PluginStats.QUERIES.increment();
        int candidates = numCandidates == null ? k : numCandidates;
        return new EncryptedKnnFloatVectorQuery(spec.field(), encryptedVector.clone(), k, candidates, luceneFilter);
    }

    /** Segments record the model that wrote them; a segment of another model would make the distances meaningless. */
    static void checkSegments(IndexReader reader, EncryptedFieldSpec spec) {
        if (reader == null) {
            return;
        }
        for (LeafReaderContext leaf : reader.leaves()) {
            FieldInfo info = leaf.reader().getFieldInfos().fieldInfo(spec.field());
            if (info == null) {
                continue;
            }
            String segmentModel = info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_MODEL_ID);
            if (segmentModel != null && !segmentModel.equals(spec.modelId())) {
                throw new IllegalArgumentException("field [" + spec.field() + "] has segments written under model ["
                        + segmentModel + "] but the mapping says model [" + spec.modelId() + "]");
            }
            String version = info.getAttribute(EncryptedKnnVectorFieldMapper.ATTR_FORMAT_VERSION);
            if (version != null && Integer.parseInt(version) > EncryptedKnnVectorFieldMapper.FORMAT_VERSION) {
                throw new IllegalArgumentException("field [" + spec.field() + "] has segments of format version "
                        + version + "; this plugin reads up to " + EncryptedKnnVectorFieldMapper.FORMAT_VERSION);
            }
        }
    }

    @Override
    protected boolean doEquals(EncryptedKnnQueryBuilder other) {
        return fieldName.equals(other.fieldName)
                && Arrays.equals(encryptedVector, other.encryptedVector)
                && Arrays.equals(plainVector, other.plainVector)
                && k == other.k
                && Objects.equals(numCandidates, other.numCandidates)
                && Objects.equals(filter, other.filter)
                && Objects.equals(modelId, other.modelId)
                && Objects.equals(epoch, other.epoch);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(
                fieldName,
                Arrays.hashCode(encryptedVector),
                Arrays.hashCode(plainVector),
                k,
                numCandidates,
                filter,
                modelId,
                epoch);
    }
}
