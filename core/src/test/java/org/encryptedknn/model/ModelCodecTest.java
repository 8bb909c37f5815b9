package org.encryptedknn.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Instant;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.transform.TestEmbeddings;
import org.encryptedknn.transform.VectorTransformTest;
import org.junit.BeforeClass;
import org.junit.Test;

public class ModelCodecTest {

    static EncryptionModel model;
    static KeyDerivation keys;

    @BeforeClass
    public static void fit() {
        keys = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY));
        model = ModelFitter.fit(
                "mail-v1",
                new ModelParameters(64, Space.COSINE, 16, 4, 0.5, 3),
                trim(TestEmbeddings.vectors(300, 5), 64),
                Instant.parse("2026-01-02T03:04:05Z"));
    }

    public static float[][] trim(float[][] in, int d) {
        float[][] out = new float[in.length][];
        for (int i = 0; i < in.length; i++) {
            out[i] = java.util.Arrays.copyOf(in[i], d);
        }
        return out;
    }

    @Test
    public void roundTrip() {
        String json = ModelCodec.toJson(model, keys);
        EncryptionModel back = ModelCodec.fromJson(json, keys);
        assertEquals(model, back);
        assertEquals(3, back.epoch());
        ModelMetadata meta = ModelCodec.readMetadata(json);
        assertEquals(ModelMetadata.of(model), meta);
        // another node with the same master key opens it too
        try (KeyDerivation other = new KeyDerivation(MasterKey.fromBase64(VectorTransformTest.KEY))) {
            assertEquals(model, ModelCodec.fromJson(json, other));
        }
    }

    @Test
    public void wrongMasterKeyFailsClearly() {
        String json = ModelCodec.toJson(model, keys);
        try (KeyDerivation wrong = new KeyDerivation(MasterKey.generate())) {
            ModelCodec.fromJson(json, wrong);
            fail("opened with the wrong key");
        } catch (ModelDecryptionException e) {
            assertTrue(
                    e.getMessage(),
                    e.getMessage().contains("model 'mail-v1' cannot be decrypted with this master key"));
        }
    }

    @Test
    public void tamperingWithThePublicPartIsDetected() {
        String json = ModelCodec.toJson(model, keys);
        for (String[] edit : new String[][] {
            {"\"beta\":0.5", "\"beta\":0.0"},
            {"\"epoch\":3", "\"epoch\":4"},
            {"\"id\":\"mail-v1\"", "\"id\":\"mail-v2\""}
        }) {
            String altered = json.replace(edit[0], edit[1]);
            assertFalse(altered.equals(json));
            try {
                ModelCodec.fromJson(altered, keys);
                fail("accepted " + edit[1]);
            } catch (ModelDecryptionException expected) {
                // ok
            }
        }
    }

    /**
     * Per-epoch cells: a newly fitted model stores its cell_jitter, bound to the sealed secret (editing or removing it
     * breaks decryption); a model stored without it (fitted before) reads with jitter 0 and keeps its stored form.
     */
    @Test
    public void cellJitterRoundTripsAndIsAuthenticated() {
        assertEquals(EncryptionModel.DEFAULT_CELL_JITTER, model.cellJitter(), 0);
        String json = ModelCodec.toJson(model, keys);
        String field = "\"cell_jitter\":" + EncryptionModel.DEFAULT_CELL_JITTER;
        assertTrue(json, json.contains(field));
        assertEquals(model.cellJitter(), ModelCodec.readMetadata(json).cellJitter(), 0);
        for (String altered :
                new String[] {json.replace("," + field, ""), json.replace(field, "\"cell_jitter\":0.25")}) {
            assertFalse(altered.equals(json));
            try {
                ModelCodec.fromJson(altered, keys);
                fail("accepted " + altered);
            } catch (ModelDecryptionException expected) {
                // ok
            }
        }
        EncryptionModel before = model.withCellJitter(0);
        String old = ModelCodec.toJson(before, keys);
        assertFalse(old, old.contains("cell_jitter"));
        EncryptionModel back = ModelCodec.fromJson(old, keys);
        assertEquals(0, back.cellJitter(), 0);
        assertFalse(back.hasEpochCells());
        assertEquals(before, back);
    }

    /** A retired epoch range is stored, shown and bound to the sealed secret: it cannot be un-retired by editing JSON. */
    @Test
    public void firstEpochRoundTripsAndIsAuthenticated() {
        EncryptionModel retired = model.withFirstEpoch(3);
        String json = ModelCodec.toJson(retired, keys);
        assertTrue(json, json.contains("\"first_epoch\":3"));
        EncryptionModel back = ModelCodec.fromJson(json, keys);
        assertEquals(3, back.parameters().firstEpoch());
        assertFalse(back.parameters().isLiveEpoch(2));
        assertTrue(back.parameters().isLiveEpoch(3));
        for (String altered : new String[] {
            json.replace("\"first_epoch\":3,", ""), json.replace("\"first_epoch\":3", "\"first_epoch\":2")
        }) {
            assertFalse(altered.equals(json));
            try {
                ModelCodec.fromJson(altered, keys);
                fail("accepted " + altered);
            } catch (ModelDecryptionException expected) {
                // ok
            }
        }
        // a model that never retired an epoch keeps its stored form (no first_epoch field)
        assertFalse(ModelCodec.toJson(model, keys).contains("first_epoch"));
        assertEquals(
                2,
                model.withEpoch(4).withFirstEpoch(2).withEpoch(5).parameters().firstEpoch());
    }

    @Test
    public void publicJsonHasNoSecret() {
        String pub = ModelCodec.publicJson(model);
        String stored = ModelCodec.toJson(model, keys);
        assertFalse(pub.contains("secret"));
        float[] v = model.basis();
        float[] c = model.centroids();
        for (String json : new String[] {pub, stored}) {
            for (int i = 0; i < 50; i++) {
                assertFalse(json.contains(Float.toString(v[i])));
                assertFalse(json.contains(Float.toString(c[i])));
            }
        }
        assertTrue(pub.contains("\"beta_scale\""));
        assertTrue(pub.contains("\"prefix_dimension\":16"));
        assertFalse(model.toString().contains(Float.toString(v[0])));
        try {
            ModelCodec.fromJson(pub, keys);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("no secret"));
        }
    }

    @Test
    public void malformedJsonIsRejectedClearly() {
        String[][] cases = {
            {"[]", "must be an object"},
            {"{\"format\":\"other\"}", "format"},
            {"{\"format\":\"" + ModelCodec.FORMAT + "\",\"id\":\"m\"}", "missing field"},
            {"{\"format\":", "malformed"}
        };
        for (String[] c : cases) {
            try {
                ModelCodec.fromJson(c[0], keys);
                fail(c[0]);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(c[1]));
            }
        }
    }
}
