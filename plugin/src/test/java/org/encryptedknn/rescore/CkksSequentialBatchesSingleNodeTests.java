package org.encryptedknn.rescore;

import org.encryptedknn.settings.EncryptedKnnSettings;
import org.opensearch.common.settings.Settings;

/**
 * The ckks rescore's checks on a node with {@code encrypted_knn.ckks.parallel_batches: false}: every batch scored on
 * the search thread, the same exact results, and the encrypted_knn_ckks pool never used.
 */
public class CkksSequentialBatchesSingleNodeTests extends CkksRescoreSingleNodeTests {

    @Override
    protected Settings nodeSettings() {
        return Settings.builder()
                .put(super.nodeSettings())
                .put(EncryptedKnnSettings.CKKS_PARALLEL_BATCHES_SETTING.getKey(), false)
                .build();
    }

    @Override
    protected boolean parallelBatches() {
        return false;
    }
}
