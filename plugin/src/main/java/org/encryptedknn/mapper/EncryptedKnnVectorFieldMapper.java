package org.encryptedknn.mapper;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.IntField;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.encryptedknn.model.PrefixLayout;
import org.encryptedknn.settings.EncryptedKnnSettings;
import org.encryptedknn.stats.PluginStats;
import org.encryptedknn.transform.EncryptedVector;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.FieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.ParametrizedFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.SourceValueFetcher;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

/**
 * Field type {@code encrypted_knn_vector}.
 *
 * <p>Mapping: {@code {"type":"encrypted_knn_vector","model_id":"m1","dimension":384,"prefix_dimension":96,"cells":64,
 * "residual_norm":1.0,"prefix_layout":"augmented","method":{"m":16,"ef_construction":100}}} ({@code prefix_dimension}
 * defaults to dimension/4, {@code residual_norm} to 1, the T of every cosine model, {@code prefix_layout} to
 * {@code plain}, the layout of the models fitted before augmentation and of every index mapped before it — a model's
 * layout is in its public metadata; {@code method} to m = 16, ef_construction = 100). Needs the index setting {@code index.encrypted_knn: true}, which selects the codec
 * that honours {@code method}.
 * On an index with {@code index.encrypted_knn.model_id}, {@code "space_type":"l2"} makes the drop-in answer the field's
 * {@code knn} queries in the k-NN plugin's l2 convention (docs/api.md).
 *
 * <p>Value: only the encrypted object {@code {"p":[…],"n":"<b64>","c":17,"z":"<b64>","e":1}} (see
 * {@link EncryptedVectorParser}). Indexed as
 * <ul>
 *   <li>{@code <field>}: a {@link KnnFloatVectorField} over p (L2 / EUCLIDEAN), HNSW-indexed; its FieldInfo carries
 *       the attributes {@value #ATTR_MODEL_ID}, {@value #ATTR_DIMENSION}, {@value #ATTR_PREFIX_DIMENSION},
 *       {@value #ATTR_CELLS}, {@value #ATTR_FORMAT_VERSION};</li>
 *   <li>{@code <field>._residual}: binary doc value [cell][epoch][z] ({@link ResidualDocValues}) for rescoring;</li>
 *   <li>{@code <field>._nonce}: binary doc value n, so that search hits can carry everything the key holder needs
 *       without loading {@code _source};</li>
 *   <li>{@code <field>._epoch}: the key epoch as an {@link IntField} (points + doc values) for epoch filters. The
 *       per-segment min/max of its points tells which epochs a segment holds (FieldInfo attributes cannot: Lucene
 *       keeps the attributes of the first document of a segment only).</li>
 * </ul>
 * {@code _source} shows the object unchanged ({@code z} is derived from the residual doc values on read:
 * {@link DerivedSourceStoredFieldsFormat}).
 */
public final class EncryptedKnnVectorFieldMapper extends ParametrizedFieldMapper {

    public static final String CONTENT_TYPE = "encrypted_knn_vector";

    public static final String ATTR_MODEL_ID = "encrypted_knn.model_id";
    public static final String ATTR_DIMENSION = "encrypted_knn.dimension";
    public static final String ATTR_PREFIX_DIMENSION = "encrypted_knn.prefix_dimension";
    public static final String ATTR_CELLS = "encrypted_knn.cells";
    public static final String ATTR_FORMAT_VERSION = "encrypted_knn.format_version";
    /**
     * Version of the on-disk layout (vector over p + residual and nonce doc values + epoch field). 2: the doc values
     * carry a version byte ({@link org.encryptedknn.transform.ResidualLayout}); this plugin still reads 1, and a
     * plugin that reads only 1 refuses a 2 instead of misreading it.
     */
    public static final int FORMAT_VERSION = 2;

    public static final int MAX_DIMENSION = 16_000;
    /** Lucene's HNSW limit on indexed vector dimensions. */
    public static final int MAX_PREFIX_DIMENSION = 1024;

    public static final int MAX_CELLS = 1 << 16;
    public static final int DEFAULT_M = 16;
    public static final int DEFAULT_EF_CONSTRUCTION = 100;
    public static final int MAX_M = 512;
    public static final int MAX_EF_CONSTRUCTION = 3200;

    /** The {@code method} mapping parameter. */
    public record HnswMethod(int m, int efConstruction) {
        public static final HnswMethod DEFAULT = new HnswMethod(DEFAULT_M, DEFAULT_EF_CONSTRUCTION);

        static HnswMethod parse(String field, Object node) {
            if (!(node instanceof Map<?, ?> map)) {
                throw new MapperParsingException(
                        "field [" + field + "]: [method] must be an object {\"m\":16,\"ef_construction\":100}");
            }
            int m = DEFAULT_M;
            int ef = DEFAULT_EF_CONSTRUCTION;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                String key = String.valueOf(entry.getKey());
                switch (key) {
                    case "m" -> m = intValue(field, "method.m", entry.getValue(), 2, MAX_M);
                    case "ef_construction" ->
                        ef = intValue(field, "method.ef_construction", entry.getValue(), 1, MAX_EF_CONSTRUCTION);
                    default ->
                        throw new MapperParsingException("field [" + field + "]: unknown parameter [method." + key
                                + "]; supported: [m, ef_construction]");
                }
            }
            return new HnswMethod(m, ef);
        }
    }

    private static int intValue(String field, String name, Object value, int min, int max) {
        long v;
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            v = ((Number) value).longValue();
        } else if (value instanceof String s) {
            try {
                v = Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                throw new MapperParsingException("field [" + field + "]: [" + name + "] must be an integer");
            }
        } else {
            throw new MapperParsingException("field [" + field + "]: [" + name + "] must be an integer");
        }
        if (v < min || v > max) {
            throw new MapperParsingException(
                    "field [" + field + "]: [" + name + "] must be in [" + min + ", " + max + "], got " + v);
        }
        return (int) v;
    }

    private static double residualNormValue(String field, Object value) {
        double v;
        if (value instanceof Number n) {
            v = n.doubleValue();
        } else if (value instanceof String str) {
            try {
                v = Double.parseDouble(str.trim());
            } catch (NumberFormatException e) {
                throw new MapperParsingException("field [" + field + "]: [residual_norm] must be a number");
            }
        } else {
            throw new MapperParsingException("field [" + field + "]: [residual_norm] must be a number");
        }
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new MapperParsingException("field [" + field + "]: [residual_norm] must be a finite number > 0");
        }
        return v;
    }

    private static EncryptedKnnVectorFieldMapper toType(FieldMapper in) {
        return (EncryptedKnnVectorFieldMapper) in;
    }

    /** Mapping builder. */
    public static final class Builder extends ParametrizedFieldMapper.Builder {

        final Parameter<String> modelId =
                Parameter.stringParam("model_id", false, m -> toType(m).spec.modelId(), "");
        final Parameter<Integer> dimension = new Parameter<>(
                "dimension",
                false,
                () -> -1,
                (n, c, o) -> intValue(n, "dimension", o, 2, MAX_DIMENSION),
                m -> toType(m).spec.dimension());
        final Parameter<Integer> prefixDimension = new Parameter<>(
                "prefix_dimension",
                false,
                () -> -1,
                (n, c, o) -> intValue(n, "prefix_dimension", o, 1, MAX_PREFIX_DIMENSION),
                m -> toType(m).spec.prefixDimension());
        final Parameter<Integer> cells = new Parameter<>(
                "cells",
                false,
                () -> -1,
                (n, c, o) -> intValue(n, "cells", o, 1, MAX_CELLS),
                m -> toType(m).spec.cells());
        /** The model's public residual_norm T; updatable, so an index mapped before it existed can be given it. */
        final Parameter<Double> residualNorm = new Parameter<>(
                "residual_norm",
                true,
                () -> EncryptedFieldSpec.DEFAULT_RESIDUAL_NORM,
                (n, c, o) -> residualNormValue(n, o),
                m -> toType(m).spec.residualNorm());
        /** The model's prefix_layout: the HNSW vector is d_pub wide (plain) or d_pub + 1 (augmented). */
        final Parameter<String> prefixLayout = Parameter.stringParam(
                "prefix_layout", false, m -> toType(m).spec.prefixLayout().wireName(), PrefixLayout.PLAIN.wireName());

        final Parameter<HnswMethod> method = new Parameter<>(
                        "method",
                        false,
                        () -> HnswMethod.DEFAULT,
                        (n, c, o) -> HnswMethod.parse(n, o),
                        m -> new HnswMethod(toType(m).spec.m(), toType(m).spec.efConstruction()))
                .setSerializer(
                        (b, n, v) -> {
                            b.startObject(n);
                            b.field("m", v.m());
                            b.field("ef_construction", v.efConstruction());
                            b.endObject();
                        },
                        v -> "{m=" + v.m() + ", ef_construction=" + v.efConstruction() + "}");
        /**
         * The drop-in's score convention for the field's {@code knn} answers ({@code dropin.KnnVectorMapping}): only
         * {@code l2}, on an index with {@code index.encrypted_knn.model_id}; unset, the model space's.
         */
        final Parameter<String> spaceType =
                Parameter.restrictedStringParam("space_type", false, m -> toType(m).spaceType, "", "l2");

        final Parameter<Map<String, String>> meta = Parameter.metaParam();

        public Builder(String name) {
            super(name);
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(
                    modelId, dimension, prefixDimension, cells, residualNorm, prefixLayout, method, spaceType, meta);
        }

        /** Checks required parameters and cross-parameter rules; fills in prefix_dimension = dimension / 4. */
        void validate(String field) {
            if (modelId.getValue() == null || modelId.getValue().isBlank()) {
                throw new MapperParsingException(
                        "field [" + field + "] of type [" + CONTENT_TYPE + "]: [model_id] is required");
            }
            if (dimension.getValue() < 0) {
                throw new MapperParsingException(
                        "field [" + field + "] of type [" + CONTENT_TYPE + "]: [dimension] is required");
            }
            if (cells.getValue() < 0) {
                throw new MapperParsingException(
                        "field [" + field + "] of type [" + CONTENT_TYPE + "]: [cells] is required (> 0)");
            }
            if (prefixDimension.getValue() < 0) {
                int dPub = Math.max(1, dimension.getValue() / 4);
                if (dPub > MAX_PREFIX_DIMENSION) {
                    throw new MapperParsingException(
                            "field [" + field + "]: the default prefix_dimension dimension/4 = " + dPub + " exceeds "
                                    + MAX_PREFIX_DIMENSION + "; set [prefix_dimension] explicitly");
                }
                prefixDimension.setValue(dPub);
            }
            if (prefixDimension.getValue() >= dimension.getValue()) {
                throw new MapperParsingException(
                        "field [" + field + "]: [prefix_dimension] (" + prefixDimension.getValue()
                                + ") must be smaller than [dimension] (" + dimension.getValue() + ")");
            }
            PrefixLayout layout = layout(field);
            if (layout.width(prefixDimension.getValue()) > MAX_PREFIX_DIMENSION) {
                throw new MapperParsingException(
                        "field [" + field + "]: [prefix_dimension] " + prefixDimension.getValue()
                                + " with [prefix_layout] " + layout.wireName() + " exceeds the HNSW limit of "
                                + MAX_PREFIX_DIMENSION + " values");
            }
        }

        private PrefixLayout layout(String field) {
            try {
                return PrefixLayout.parse(prefixLayout.getValue(), "prefix_layout");
            } catch (IllegalArgumentException e) {
                throw new MapperParsingException("field [" + field + "]: " + e.getMessage());
            }
        }

        @Override
        public EncryptedKnnVectorFieldMapper build(BuilderContext context) {
            String fullName = buildFullName(context);
            validate(fullName);
            HnswMethod hnsw = method.getValue();
            EncryptedFieldSpec spec = new EncryptedFieldSpec(
                    fullName,
                    modelId.getValue(),
                    dimension.getValue(),
                    prefixDimension.getValue(),
                    cells.getValue(),
                    hnsw.m(),
                    hnsw.efConstruction(),
                    residualNorm.getValue(),
                    layout(fullName));
            return new EncryptedKnnVectorFieldMapper(
                    name,
                    new EncryptedKnnVectorFieldType(spec, meta.getValue()),
                    multiFieldsBuilder.build(this, context),
                    copyTo.build(),
                    spec,
                    spaceType.getValue());
        }
    }

    /** Parses {@code "type":"encrypted_knn_vector"} mappings. */
    public static final class TypeParser implements Mapper.TypeParser {
        @Override
        public Mapper.Builder<?> parse(String name, Map<String, Object> node, ParserContext parserContext)
                throws MapperParsingException {
            if (parserContext.getSettings() != null && !EncryptedKnnSettings.isEnabled(parserContext.getSettings())) {
                throw new MapperParsingException("field [" + name + "] of type [" + CONTENT_TYPE
                        + "] needs the index setting [" + EncryptedKnnSettings.INDEX_ENCRYPTED_KNN + ": true]");
            }
            for (String unsupported : List.of("fields", "copy_to")) {
                if (node.containsKey(unsupported)) {
                    throw new MapperParsingException("field [" + name + "] of type [" + CONTENT_TYPE
                            + "] does not support [" + unsupported + "]");
                }
            }
            Builder builder = new Builder(name);
            builder.parse(name, parserContext, node);
            builder.validate(name);
            if (builder.spaceType.getValue().isEmpty() == false
                    && parserContext.getSettings() != null
                    && EncryptedKnnSettings.dropInModel(parserContext.getSettings()) == null) {
                throw new MapperParsingException("field [" + name + "] of type [" + CONTENT_TYPE
                        + "]: [space_type] is the score convention of the drop-in [knn] query, for an index with ["
                        + EncryptedKnnSettings.INDEX_MODEL_ID + "] only");
            }
            return builder;
        }
    }

    /** The searchable side of the field: what queries and the rescorer resolve. */
    public static final class EncryptedKnnVectorFieldType extends MappedFieldType {
        private final EncryptedFieldSpec spec;

        public EncryptedKnnVectorFieldType(EncryptedFieldSpec spec, Map<String, String> meta) {
            super(spec.field(), true, false, false, TextSearchInfo.NONE, meta);
            this.spec = spec;
        }

        public EncryptedFieldSpec spec() {
            return spec;
        }

        @Override
        public String typeName() {
            return CONTENT_TYPE;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup searchLookup, String format) {
            if (format != null) {
                throw new IllegalArgumentException(
                        "field [" + name() + "] of type [" + CONTENT_TYPE + "] doesn't support formats");
            }
            return new SourceValueFetcher(name(), context) {
                @Override
                protected Object parseSourceValue(Object value) {
                    return value;
                }
            };
        }

        @Override
        public Query existsQuery(QueryShardContext context) {
            return new FieldExistsQuery(name());
        }

        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            throw new IllegalArgumentException("field [" + name() + "] of type [" + CONTENT_TYPE
                    + "] supports only the [encrypted_knn] query and [exists]");
        }
    }

    private final EncryptedFieldSpec spec;
    private final String spaceType;
    private final FieldType vectorFieldType;

    private EncryptedKnnVectorFieldMapper(
            String simpleName,
            EncryptedKnnVectorFieldType mappedFieldType,
            MultiFields multiFields,
            CopyTo copyTo,
            EncryptedFieldSpec spec,
            String spaceType) {
        super(simpleName, mappedFieldType, multiFields, copyTo);
        this.spec = Objects.requireNonNull(spec);
        this.spaceType = spaceType;
        this.vectorFieldType = vectorFieldType(spec);
    }

    /** The Lucene field type of the prefix vector, with the model's parameters as FieldInfo attributes. */
    public static FieldType vectorFieldType(EncryptedFieldSpec spec) {
        FieldType type = new FieldType(
                KnnFloatVectorField.createFieldType(spec.prefixWidth(), VectorSimilarityFunction.EUCLIDEAN));
        type.putAttribute(ATTR_MODEL_ID, spec.modelId());
        type.putAttribute(ATTR_DIMENSION, Integer.toString(spec.dimension()));
        type.putAttribute(ATTR_PREFIX_DIMENSION, Integer.toString(spec.prefixDimension()));
        type.putAttribute(ATTR_CELLS, Integer.toString(spec.cells()));
        type.putAttribute(ATTR_FORMAT_VERSION, Integer.toString(FORMAT_VERSION));
        type.freeze();
        return type;
    }

    public EncryptedFieldSpec spec() {
        return spec;
    }

    @Override
    public EncryptedKnnVectorFieldType fieldType() {
        return (EncryptedKnnVectorFieldType) super.fieldType();
    }

    @Override
    public boolean parsesArrayValue() {
        return true; // so a plain float array reaches us whole and is refused with one clear message
    }

    /**
     * Overrides {@link FieldMapper#parse} so a refused value is never echoed back ("Preview of field's value"): the
     * refused value may be a plaintext embedding, and the error travels to clients and logs.
     */
    @Override
    public void parse(ParseContext context) throws IOException {
        try {
            parseCreateField(context);
        } catch (IllegalArgumentException e) {
            PluginStats.PARSE_REJECTIONS.increment();
            throw new MapperParsingException(e.getMessage());
        }
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        XContentParser parser = context.parser();
        if (parser.currentToken() == XContentParser.Token.VALUE_NULL) {
            return;
        }
        EncryptedVector vector = EncryptedVectorParser.parse(parser, spec);
        String field = fieldType().name();
        context.doc().add(new KnnFloatVectorField(field, vector.prefix(), vectorFieldType));
        context.doc()
                .add(new BinaryDocValuesField(
                        ResidualDocValues.residualField(field),
                        vector.isSealed()
                                ? ResidualDocValues.encodeSealed(vector.epoch(), vector.sealed())
                                : ResidualDocValues.encodeResidual(
                                        vector.cell(), vector.epoch(), vector.keyedResidual())));
        context.doc()
                .add(new BinaryDocValuesField(
                        ResidualDocValues.nonceField(field), ResidualDocValues.encodeNonce(vector.nonce())));
        context.doc().add(new IntField(ResidualDocValues.epochField(field), vector.epoch(), Field.Store.NO));
        PluginStats.DOCUMENTS_PARSED.increment();
    }

    @Override
    public ParametrizedFieldMapper.Builder getMergeBuilder() {
        return new Builder(simpleName()).init(this);
    }

    @Override
    protected String contentType() {
        return CONTENT_TYPE;
    }
}
