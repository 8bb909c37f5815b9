package org.encryptedknn.keystore;

import java.util.List;
import java.util.Map;
import org.encryptedknn.model.EncryptionModel;
import org.opensearch.ingest.ConfigurationUtils;

/**
 * Options shared by the gateway processors' factories (the ingest processors and the search pipeline processors):
 * read from the pipeline definition with {@link ConfigurationUtils}, so a bad value is the usual configuration
 * exception naming the processor type, tag and option.
 */
public final class ProcessorConfig {

    private ProcessorConfig() {}

    /** The required {@code model_id}, checked by {@link EncryptionModel#checkId}. */
    public static String modelId(String type, String tag, Map<String, Object> config) {
        String id = ConfigurationUtils.readStringProperty(type, tag, config, "model_id");
        try {
            return EncryptionModel.checkId(id);
        } catch (IllegalArgumentException e) {
            throw ConfigurationUtils.newConfigurationException(type, tag, "model_id", e.getMessage());
        }
    }

    /** An optional list of field names under {@code key}; empty when absent. */
    public static List<String> fieldNames(String type, String tag, Map<String, Object> config, String key) {
        List<Object> raw = ConfigurationUtils.readOptionalList(type, tag, config, key);
        if (raw == null) {
            return List.of();
        }
        for (Object o : raw) {
            if (o instanceof String == false) {
                throw ConfigurationUtils.newConfigurationException(type, tag, key, "must be a list of field names");
            }
        }
        @SuppressWarnings("unchecked")
        List<String> out = (List<String>) (List<?>) List.copyOf(raw);
        return out;
    }
}
