package org.encryptedknn.fetch;

import java.io.IOException;
import java.util.Objects;
import org.encryptedknn.protocol.HitField;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ConstructingObjectParser;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.search.SearchExtBuilder;

/**
 * The search extension {@code "ext":{"encrypted_knn_records":{"field":"embedding"}}}: every returned hit gets the
 * per-hit field {@value HitField#NAME} with its whole record in the binary per-hit form, read from doc values and the
 * prefix vector ({@link EncryptedKnnFetchSubPhase}). The {@code key_holder} search mode asks for it instead of the
 * records in {@code _source}, which the data node would have to load, derive and print as JSON. It says nothing about
 * the query.
 */
public final class HitRecordsExt extends SearchExtBuilder {

    private static final ConstructingObjectParser<HitRecordsExt, Void> PARSER =
            new ConstructingObjectParser<>(HitField.REQUEST_EXT, false, args -> new HitRecordsExt((String) args[0]));

    static {
        PARSER.declareString(ConstructingObjectParser.constructorArg(), new ParseField(HitField.REQUEST_FIELD));
    }

    private final String field;

    public HitRecordsExt(String field) {
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("[ext." + HitField.REQUEST_EXT + "." + HitField.REQUEST_FIELD
                    + "] must name an encrypted_knn_vector field");
        }
        this.field = field;
    }

    public HitRecordsExt(StreamInput in) throws IOException {
        this(in.readString());
    }

    public static HitRecordsExt fromXContent(XContentParser parser) throws IOException {
        return PARSER.parse(parser, null);
    }

    /** The vector field whose records the hits carry. */
    public String field() {
        return field;
    }

    @Override
    public String getWriteableName() {
        return HitField.REQUEST_EXT;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(field);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        return builder.startObject(HitField.REQUEST_EXT)
                .field(HitField.REQUEST_FIELD, field)
                .endObject();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HitRecordsExt that && field.equals(that.field);
    }

    @Override
    public int hashCode() {
        return Objects.hash(HitField.REQUEST_EXT, field);
    }
}
