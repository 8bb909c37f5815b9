package org.encryptedknn.keystore;

import org.opensearch.OpenSearchStatusException;
import org.opensearch.common.settings.SecureSetting;
import org.opensearch.common.settings.Setting;
import org.opensearch.core.common.settings.SecureString;
import org.opensearch.core.rest.RestStatus;

/** The keystore setting of gateway mode and the errors that name it. */
public final class KeystoreSettings {

    /** {@code encrypted_knn.master_key}: base64 of 32 bytes, in the OpenSearch keystore of ingest/coordinating nodes. */
    public static final String MASTER_KEY = "encrypted_knn.master_key";

    public static final Setting<SecureString> MASTER_KEY_SETTING = SecureSetting.secureString(MASTER_KEY, null);

    private KeystoreSettings() {}

    /** 400: this node holds no key, so it cannot act as a gateway (the storage side keeps working). */
    public static OpenSearchStatusException keyNotSet(String nodeName) {
        return new OpenSearchStatusException(
                MASTER_KEY + " is not set in the keystore of node [" + nodeName
                        + "]; gateway operations (model training and rotation, "
                        + "the encrypted_knn ingest processors and search processors) need it: add it with opensearch-keystore and call "
                        + "POST _nodes/reload_secure_settings",
                RestStatus.BAD_REQUEST);
    }

    /** 400: the keystore holds a value that is not base64 of 32 bytes. The value itself is never echoed. */
    public static OpenSearchStatusException keyInvalid(String nodeName, String why) {
        return new OpenSearchStatusException(
                MASTER_KEY + " in the keystore of node [" + nodeName + "] is unusable (" + why
                        + "); it must be base64 of 32 random bytes",
                RestStatus.BAD_REQUEST);
    }

    /**
     * 400: a stored model does not open under this node's key (key changed in the keystore, a snapshot restored into a
     * cluster with another key, or the model was altered). A 4xx like the other key errors: the node is healthy, its key
     * configuration cannot serve the request, and retrying will not help until the key is fixed.
     */
    public static OpenSearchStatusException wrongKey(String nodeName, String modelId, Exception cause) {
        return new OpenSearchStatusException(
                "model [" + modelId + "] cannot be decrypted with the " + MASTER_KEY + " of node [" + nodeName
                        + "]: the key in this "
                        + "node's keystore differs from the one the model was stored under (or the stored model was altered); restore the "
                        + "original key and call POST _nodes/reload_secure_settings",
                RestStatus.BAD_REQUEST,
                cause);
    }

    /** 404: no model with that id in the registry. */
    public static OpenSearchStatusException modelNotFound(String modelId) {
        return new OpenSearchStatusException("model [" + modelId + "] not found", RestStatus.NOT_FOUND);
    }
}
