package org.encryptedknn.tools.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.corpus.CorpusMessage;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.AesGcm;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.keystore.ModelStore;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.tools.demo.Demo;
import org.encryptedknn.transform.VectorTransform;

/**
 * Test-only: documents as the plugin wrote them before issue 15 (record format v1), which the plugin can no longer
 * produce. The driver holds the node's master key (the key file {@code scripts/reliability.sh} generated) and
 * <ul>
 *   <li>replaces the registry document of the demo model with the same fitted model in model format v1: no key salt
 *       (key derivation v1), no {@code residual_norm} (z = H_c·r, d − d_pub values, ‖z‖ = ‖r‖);</li>
 *   <li>encrypts each document under it with the v1 nonce PRF(_id, field, epoch) (tag 1 of {@code PrefixNonces}, no
 *       vector) and the subject as an {@code ekr1:} value (AES-GCM, associated data "encrypted-knn/field/v1" ‖ 0 ‖
 *       field ‖ 0 ‖ index, no _id).</li>
 * </ul>
 * Nothing here is a switch of the plugin: the node only reads what the old plugin would have stored.
 */
final class LegacyFormat implements AutoCloseable {

    private static final byte V1_DOCUMENT_NONCE_TAG = 1;

    private final EncryptionModel model;
    private final KeyDerivation keys;
    private final VectorTransform transform;
    private final Mac nonces;
    private final AesGcm subjects;

    private LegacyFormat(EncryptionModel model, KeyDerivation keys) throws GeneralSecurityException {
        this.model = model;
        this.keys = keys;
        this.transform = new VectorTransform(model, keys);
        byte[] nonceKey = keys.sapNonceKey(model.id(), null);
        this.nonces = Mac.getInstance("HmacSHA256");
        nonces.init(new SecretKeySpec(nonceKey, "HmacSHA256"));
        Arrays.fill(nonceKey, (byte) 0);
        byte[] fieldKey = keys.fieldAeadKey("subject");
        this.subjects = new AesGcm(fieldKey);
        Arrays.fill(fieldKey, (byte) 0);
    }

    /**
     * Writes the node's demo model back in format v1 (same basis and centroids) and waits until the gateway's model
     * cache has seen it (it revalidates the registry document within 10 s).
     */
    static LegacyFormat install(OpenSearchHttp node, Path keyFile) throws Exception {
        KeyDerivation keys =
                new KeyDerivation(MasterKey.fromBase64(Files.readString(keyFile).trim()));
        String path = "/" + ModelStore.INDEX + "/_doc/" + Demo.MODEL_ID;
        EncryptionModel fitted = ModelCodec.fromJson(
                node.get(path).path("_source").path("sealed").asText(), keys);
        float[] basis = fitted.basis();
        float[] centroids = fitted.centroids();
        EncryptionModel v1 = new EncryptionModel( // no key salt, no residual padding, never upgraded
                fitted.id(),
                fitted.parameters(),
                fitted.created(),
                fitted.betaScale(),
                fitted.sampleCount(),
                basis,
                centroids,
                null,
                0,
                0,
                0,
                0); // plain prefix layout
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.put("model_id", v1.id());
        doc.put("epoch", v1.epoch());
        doc.put("sealed", ModelCodec.toJson(v1, keys));
        node.put(path + "?refresh=true", doc);
        Thread.sleep(11_000);
        JsonNode pub =
                node.get("/_plugins/encrypted_knn/models/" + Demo.MODEL_ID).path("model");
        if (pub.has("residual_norm")) {
            throw new IllegalStateException("the registry still shows a v2 model: " + pub);
        }
        return new LegacyFormat(v1, keys);
    }

    /** Document {@code id} of {@code index} as the v1 plugin stored it: record v1 and an ekr1: subject. */
    ObjectNode document(String index, String id, float[] vector, CorpusMessage message) {
        byte[] nonce = v1Nonce(id, Demo.FIELD);
        ObjectNode doc = OpenSearchHttp.JSON.createObjectNode();
        doc.set(Demo.FIELD, EncryptedSearch.recordJson(transform.encryptDocument(vector, nonce)));
        byte[] aad = ("encrypted-knn/field/v1\0subject\0" + index).getBytes(StandardCharsets.UTF_8);
        doc.put(
                "subject",
                FieldCipher.RANDOMIZED_PREFIX_V1
                        + Base64.getEncoder()
                                .encodeToString(
                                        subjects.seal(message.subject().getBytes(StandardCharsets.UTF_8), aad)));
        return doc;
    }

    /** PRF(doc id ‖ field ‖ epoch), the document nonce before it covered the vector. */
    private synchronized byte[] v1Nonce(String docId, String field) {
        nonces.update(V1_DOCUMENT_NONCE_TAG);
        for (String s : new String[] {docId, field}) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            nonces.update(int32(b.length));
            nonces.update(b);
        }
        nonces.update(int32(model.epoch()));
        return Arrays.copyOf(nonces.doFinal(), 16);
    }

    private static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    @Override
    public void close() throws IOException {
        transform.close();
        subjects.close();
        keys.close();
    }
}
