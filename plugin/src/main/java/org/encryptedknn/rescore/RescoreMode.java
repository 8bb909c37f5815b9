package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Locale;
import org.opensearch.common.CheckedFunction;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.XContentParser;

/**
 * The {@code mode} of an {@code encrypted_knn} rescore: which payload its {@code query} carries, and so which
 * {@link CandidateScoring} the data node runs. (The default search mode, {@code key_holder}, sends no rescore.)
 *
 * <ul>
 *   <li>{@link #KEYED}: the query carries H_c r_q in clear per cell; the data node computes exact scores and sorts.
 *       Leaks the keyed query residuals and the scores to the storage tier: it is what the
 *       {@code keyed_leaks_query_residuals} search mode sends.</li>
 *   <li>{@link #CKKS}: the query carries CKKS ciphertexts of H_c r_q; the data node multiplies them with packed
 *       residuals and returns the ciphertexts with the response; the key holder decrypts and ranks (docs/ckks-mode.md).</li>
 * </ul>
 */
public enum RescoreMode {
    KEYED(KeyedRescorePayload::new, KeyedRescorePayload::fromXContent),
    CKKS(CkksRescorePayload::new, CkksRescorePayload::fromXContent);

    private final Writeable.Reader<? extends RescorePayload<?>> reader;
    private final CheckedFunction<XContentParser, ? extends RescorePayload<?>, IOException> parser;

    RescoreMode(
            Writeable.Reader<? extends RescorePayload<?>> reader,
            CheckedFunction<XContentParser, ? extends RescorePayload<?>, IOException> parser) {
        this.reader = reader;
        this.parser = parser;
    }

    /** This mode's payload from another node's bytes. */
    RescorePayload<?> readPayload(StreamInput in) throws IOException {
        return reader.read(in);
    }

    /** This mode's payload from the {@code query} object at the parser's current token. */
    RescorePayload<?> parsePayload(XContentParser xContent) throws IOException {
        return parser.apply(xContent);
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static RescoreMode fromString(String value) {
        for (RescoreMode mode : values()) {
            if (mode.wireName().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("[encrypted_knn] rescore [mode] must be [keyed] or [ckks]");
    }
}
