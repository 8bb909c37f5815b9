package org.encryptedknn.settings;

import org.encryptedknn.model.EncryptionModel;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;

/** Settings owned by the storage-side plugin. */
public final class EncryptedKnnSettings {

    /**
     * {@code index.encrypted_knn.model_id}: the drop-in opt-in (docs/gateway-mode.md, "Drop-in"). The cluster encrypts
     * plaintext vectors written to the index's encrypted fields under this model on every write path, turns
     * {@code knn_vector} fields of the index's mapping into encrypted ones, and answers the k-NN plugin's {@code knn}
     * query on them. Index-scoped and final: the stored records are bound to the model.
     */
    public static final String INDEX_MODEL_ID = "index.encrypted_knn.model_id";

    public static final Setting<String> INDEX_MODEL_ID_SETTING = new Setting<>(
            INDEX_MODEL_ID,
            "",
            id -> id.isEmpty() ? id : EncryptionModel.checkId(id),
            Setting.Property.IndexScope,
            Setting.Property.Final);

    /**
     * {@code index.encrypted_knn}: selects the plugin's codec for the index. Index-scoped and final; defaults to true
     * when {@link #INDEX_MODEL_ID} is set, so the opt-in is one setting.
     */
    public static final String INDEX_ENCRYPTED_KNN = "index.encrypted_knn";

    public static final Setting<Boolean> INDEX_ENCRYPTED_KNN_SETTING = Setting.boolSetting(
            INDEX_ENCRYPTED_KNN,
            settings -> Boolean.toString(INDEX_MODEL_ID_SETTING.exists(settings)),
            Setting.Property.IndexScope,
            Setting.Property.Final);

    /**
     * {@code encrypted_knn.ckks.parallel_batches} (node, static, default true): score a ckks window's batches on the
     * {@code encrypted_knn_ckks} thread pool as well as the search thread. The batches are claimed, so on a busy node
     * the search thread does them all itself; on the 2-core development machine a ckks search at one client was 11–23 %
     * faster with it and as fast at eight (docs/performance.md). {@code false} keeps every batch on the search thread.
     */
    public static final Setting<Boolean> CKKS_PARALLEL_BATCHES_SETTING =
            Setting.boolSetting("encrypted_knn.ckks.parallel_batches", true, Setting.Property.NodeScope);

    /** The opensearch-knn plugin's index switch. Read raw: that plugin may not be installed. */
    public static final String OPENSEARCH_KNN_INDEX = "index.knn";

    private EncryptedKnnSettings() {}

    public static boolean isEnabled(Settings indexSettings) {
        return INDEX_ENCRYPTED_KNN_SETTING.get(indexSettings);
    }

    /** The drop-in model of an index's settings, or null when the index has not opted in. */
    public static String dropInModel(Settings indexSettings) {
        String id = INDEX_MODEL_ID_SETTING.get(indexSettings);
        return id == null || id.isEmpty() ? null : id;
    }

    /**
     * Refuses an index that asks for both codecs: each plugin supplies the whole codec service of the index, and only
     * one can. Thrown at index creation, so the create-index request fails with a 400.
     */
    public static void checkNotCombinedWithOpenSearchKnn(String indexName, Settings indexSettings) {
        if (isEnabled(indexSettings) && indexSettings.getAsBoolean(OPENSEARCH_KNN_INDEX, false)) {
            throw new IllegalArgumentException("index ["
                    + indexName
                    + "] sets both ["
                    + INDEX_ENCRYPTED_KNN
                    + "] and ["
                    + OPENSEARCH_KNN_INDEX
                    + "] to true; an index can use the encrypted-knn codec or the opensearch-knn codec, not both: "
                    + "put encrypted_knn_vector fields and knn_vector fields in separate indices");
        }
    }
}
