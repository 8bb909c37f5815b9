package org.encryptedknn.rescore;

import java.io.IOException;
import java.util.Locale;
import org.opensearch.core.common.io.stream.StreamInput;
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
    KEYED {
        @Override
        RescorePayload<?> readPayload(StreamInput in) throws IOException {
            return new KeyedRescorePayload(in);
        }

        @Override
        RescorePayload<?> parsePayload(XContentParser parser) throws IOException {
            return KeyedRescorePayload.fromXContent(parser);
        }
    },
    CKKS {
        @Override
        RescorePayload<?> readPayload(StreamInput in) throws IOException {
            return new CkksRescorePayload(in);
        }

        @Override
        RescorePayload<?> parsePayload(XContentParser parser) throws IOException {
            return CkksRescorePayload.fromXContent(parser);
        }
    };

    /** This mode's payload from another node's bytes. */
    abstract RescorePayload<?> readPayload(StreamInput in) throws IOException;

    /** This mode's payload from the {@code query} object at the parser's current token. */
    abstract RescorePayload<?> parsePayload(XContentParser parser) throws IOException;

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
