package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Objects;
import org.encryptedknn.mapper.EncryptedFieldSpec;
import org.encryptedknn.mapper.EncryptedKnnVectorFieldMapper;
import org.encryptedknn.protocol.RescoreQueryFormat;
import org.encryptedknn.xcontent.RequestParsing;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.bytes.BytesReference;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.ObjectParser;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.RescorerBuilder;

/**
 * {@code "rescore":{"window_size":100,"encrypted_knn":{"field":"embedding","mode":"keyed","query":{"prefix":[…],
 * "cells":{"17":"<b64>",…},"epoch":1}}}}.
 *
 * <p>{@code mode} is required: the choice between {@code keyed} (exact scores computed and sorted on the data node,
 * which sees the keyed query residuals and the scores) and {@code ckks} (homomorphic, the data node learns neither)
 * is a leakage decision the caller makes explicitly. The two modes carry different {@code query} payloads:
 * {@link KeyedRescorePayload} and {@link CkksRescorePayload} (docs/ckks-mode.md); the wire format writes the mode first,
 * then the mode's payload.
 */
public final class EncryptedKnnRescorerBuilder extends RescorerBuilder<EncryptedKnnRescorerBuilder> {

    public static final String NAME = RescoreQueryFormat.NAME;
    private final String field;
    private final RescoreMode mode;
    private final RescorePayload<?> query; // a KeyedRescorePayload in keyed mode, a CkksRescorePayload in ckks mode

    public EncryptedKnnRescorerBuilder(String field, KeyedRescorePayload keyedQuery) {
        this(field, RescoreMode.KEYED, keyedQuery);
    }

    public EncryptedKnnRescorerBuilder(String field, CkksRescorePayload ckksQuery) {
        this(field, RescoreMode.CKKS, ckksQuery);
    }

    private EncryptedKnnRescorerBuilder(String field, RescoreMode mode, RescorePayload<?> query) {
        this.field = Objects.requireNonNull(field, "field");
        this.mode = mode;
        this.query = Objects.requireNonNull(query, "query");
    }

    public EncryptedKnnRescorerBuilder(StreamInput in) throws IOException {
        super(in);
        this.field = in.readString();
        this.mode = in.readEnum(RescoreMode.class);
        this.query = mode.readPayload(in);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeString(field);
        out.writeEnum(mode);
        query.writeTo(out);
    }

    public String field() {
        return field;
    }

    public RescoreMode mode() {
        return mode;
    }

    /** The keyed-mode payload, or null in ckks mode. */
    public KeyedRescorePayload keyedQuery() {
        return query instanceof KeyedRescorePayload keyed ? keyed : null;
    }

    /** The ckks-mode payload, or null in keyed mode. */
    public CkksRescorePayload ckksQuery() {
        return query instanceof CkksRescorePayload ckks ? ckks : null;
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.field(RescoreQueryFormat.FIELD, field);
        builder.field(RescoreQueryFormat.MODE, mode.wireName());
        query.toXContent(builder, params);
        builder.endObject();
    }

    public static EncryptedKnnRescorerBuilder fromXContent(XContentParser parser) throws IOException {
        try {
            return parse(parser);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage());
        }
    }

    /** The rescorer's object while it is parsed; {@code query} stays bytes until the mode is known. */
    private static final class ParsedFields {
        String field;
        RescoreMode mode;
        BytesReference query;
    }

    private static final ObjectParser<ParsedFields, Void> PARSER =
            new ObjectParser<>(NAME + " rescore", ParsedFields::new);

    static {
        PARSER.declareString((p, v) -> p.field = v, new ParseField(RescoreQueryFormat.FIELD));
        PARSER.declareField(
                (p, v) -> p.mode = v,
                (x, c) -> mode(x),
                new ParseField(RescoreQueryFormat.MODE),
                ObjectParser.ValueType.STRING);
        PARSER.declareField(
                (p, v) -> p.query = v,
                (x, c) -> {
                    try (XContentBuilder copy = XContentFactory.jsonBuilder()) {
                        copy.copyCurrentStructure(x);
                        return BytesReference.bytes(copy);
                    }
                },
                new ParseField(RescoreQueryFormat.QUERY),
                ObjectParser.ValueType.OBJECT);
    }

    private static RescoreMode mode(XContentParser parser) throws IOException {
        try {
            return RescoreMode.fromString(parser.text());
        } catch (IllegalArgumentException e) {
            throw RequestParsing.bad(e.getMessage());
        }
    }

    private static EncryptedKnnRescorerBuilder parse(XContentParser parser) throws IOException {
        XContentParser.Token token = parser.currentToken();
        if (token != XContentParser.Token.START_OBJECT) {
            token = parser.nextToken();
        }
        if (token != XContentParser.Token.START_OBJECT) {
            throw KeyedRescorePayload.bad("expects an object {\"field\":…,\"mode\":…,\"query\":{…}}");
        }
        ParsedFields params = RequestParsing.parse(PARSER, parser, new ParsedFields(), null);
        String field = params.field;
        RescoreMode mode = params.mode;
        BytesReference query = params.query;
        if (field == null) {
            throw KeyedRescorePayload.bad("[field] is required");
        }
        if (mode == null) {
            throw KeyedRescorePayload.bad("[mode] is required: [keyed] (scores computed on the data node) or [ckks]");
        }
        if (query == null) {
            throw KeyedRescorePayload.bad("[query] is required");
        }
        try (XContentParser queryParser = XContentType.JSON
                .xContent()
                .createParser(
                        NamedXContentRegistry.EMPTY,
                        DeprecationHandler.THROW_UNSUPPORTED_OPERATION,
                        query.streamInput())) {
            queryParser.nextToken();
            return new EncryptedKnnRescorerBuilder(field, mode, mode.parsePayload(queryParser));
        }
    }

    @Override
    public RescorerBuilder<EncryptedKnnRescorerBuilder> rewrite(QueryRewriteContext ctx) {
        return this;
    }

    @Override
    protected RescoreContext innerBuildContext(int windowSize, QueryShardContext context) throws IOException {
        MappedFieldType type = context.fieldMapper(field);
        if (type == null) {
            throw KeyedRescorePayload.bad("field [" + field + "] is not mapped in index ["
                    + context.index().getName() + "]");
        }
        if (!(type instanceof EncryptedKnnVectorFieldMapper.EncryptedKnnVectorFieldType encrypted)) {
            throw KeyedRescorePayload.bad("field [" + field + "] is of type [" + type.typeName() + "], not ["
                    + EncryptedKnnVectorFieldMapper.CONTENT_TYPE + "]");
        }
        EncryptedFieldSpec spec = encrypted.spec();
        switch (query) {
            case KeyedRescorePayload keyed -> {
                keyed.validate(spec);
                return new EncryptedKnnRescorer.Context(windowSize, spec, new CandidateScoring.Keyed(keyed));
            }
            case CkksRescorePayload ckks -> {
                ckks.validate(spec, windowSize);
                return new EncryptedKnnRescorer.Context(windowSize, spec, new CandidateScoring.Ckks(ckks));
            }
        }
    }

    @Override
    public boolean equals(Object obj) {
        if (!super.equals(obj)) {
            return false;
        }
        EncryptedKnnRescorerBuilder other = (EncryptedKnnRescorerBuilder) obj;
        return field.equals(other.field) && mode == other.mode && query.equals(other.query);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), field, mode, query);
    }
}
