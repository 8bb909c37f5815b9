package org.encryptedknn.model;

/** A stored model whose secret part does not open under the master key in use (wrong key, or altered bytes). */
public final class ModelDecryptionException extends RuntimeException {

    private final String modelId;

    public ModelDecryptionException(String modelId) {
        super("model '" + modelId + "' cannot be decrypted with this master key"
                + " (the key differs from the one it was stored under, or the stored model was altered)");
        this.modelId = modelId;
    }

    public String modelId() {
        return modelId;
    }
}
