package org.encryptedknn.keystore;

import java.io.Closeable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.encryptedknn.keys.MasterKey;
import org.encryptedknn.model.EncryptionModel;
import org.encryptedknn.model.ModelCodec;
import org.encryptedknn.model.ModelDecryptionException;
import org.opensearch.cluster.ClusterState;
import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.common.util.concurrent.OpenSearchExecutors;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.settings.SecureString;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;

/**
 * The key holder of one node in gateway mode: the master key from the keystore ({@value KeystoreSettings#MASTER_KEY}),
 * read at node start and on {@code POST _nodes/reload_secure_settings}, and the models decrypted with it.
 *
 * <ul>
 *   <li>Each key is one {@link KeyState} generation. A request {@linkplain #acquire() leases} the current generation
 *       and uses it to the end, so one request never mixes keys. A reload installs a new generation and retires the
 *       old one, whose derived secrets are zeroed once its last lease is released; leases that are never released
 *       (a search that failed between the request and the response processor) are cut off after
 *       {@link #RETIRED_GRACE}. The raw master key bytes are zeroed right after the PRK is derived.</li>
 *   <li>Models: decrypted on first use from the registry ({@link ModelStore}) and cached per generation with one
 *       transform per epoch. A cached entry is trusted for {@link #MODEL_REVALIDATE} and then revalidated against the
 *       registry document's sequence number (rotations and deletes on <em>other</em> nodes are seen within that
 *       time); this node's own rotations and deletes invalidate it at once.</li>
 *   <li>Nodes without the setting run the storage side normally; anything that needs the key fails with a 400 that
 *       names the setting and the node.</li>
 * </ul>
 * Nothing here logs or returns key material.
 */
public final class NodeKeyHolder implements Closeable {

    private static final Logger LOG = LogManager.getLogger(NodeKeyHolder.class);

    public static final TimeValue MODEL_REVALIDATE = TimeValue.timeValueSeconds(10);
    public static final TimeValue RETIRED_GRACE = TimeValue.timeValueMinutes(5);

    private final AtomicReference<KeyState> current = new AtomicReference<>();
    private final AtomicLong generations = new AtomicLong();
    private final ModelStore store;
    private volatile EpochFloors floors = new EpochFloors(null);
    private volatile String nodeName = "_local";
    private volatile Client client;
    private volatile ThreadPool threadPool;
    private volatile int rerankHelpers;

    /** The thread pool that shares a window's key-holder work with the search thread (gateway nodes). */
    public static final String RERANK_THREAD_POOL = "encrypted_knn_rerank";

    private volatile ClusterService clusterService;

    public NodeKeyHolder() {
        this.store = new ModelStore(() -> client);
    }

    /** The node's client (null until {@link #start}): the gateway's processors read index stats and the page's {@code _source} with it. */
    public Client client() {
        return client;
    }

    /**
     * Where the search pipeline's key-holder work on a window runs besides the search thread (decrypting prefixes, the
     * cells' keyed queries): the {@value #RERANK_THREAD_POOL} pool, or null before {@link #start}.
     */
    public Executor rerankExecutor() {
        ThreadPool pool = threadPool;
        return pool == null ? null : pool.executor(RERANK_THREAD_POOL);
    }

    /** How many of the {@value #RERANK_THREAD_POOL} threads one window may use: the node's other processors. */
    public int rerankHelpers() {
        return rerankHelpers;
    }

    /**
     * Called once from the plugin's createComponents, with the node settings (the keystore is still open then);
     * {@code dataPath} is the node's data directory, where the {@link EpochFloors} are kept (null: memory only).
     */
    public void start(
            Settings nodeSettings, Client client, ClusterService clusterService, ThreadPool threadPool, Path dataPath) {
        this.floors = new EpochFloors(dataPath == null ? null : dataPath.resolve(EpochFloors.FILE_NAME));
        this.nodeName = nodeSettings.get("node.name", "_local");
        this.client = client;
        this.clusterService = clusterService;
        this.threadPool = threadPool;
        this.rerankHelpers = OpenSearchExecutors.allocatedProcessors(nodeSettings) - 1;
        install(nodeSettings);
    }

    /** {@code POST _nodes/reload_secure_settings}: a removed key disables the gateway on this node. */
    public void reload(Settings settingsWithKeystore) {
        install(settingsWithKeystore);
    }

    private void install(Settings settings) {
        KeyState next = null;
        if (KeystoreSettings.MASTER_KEY_SETTING.exists(settings)) {
            try (SecureString value = KeystoreSettings.MASTER_KEY_SETTING.get(settings)) {
                try (MasterKey key = parse(value)) {
                    next = new KeyState(generations.incrementAndGet(), key);
                }
            }
        }
        KeyState previous = current.getAndSet(next);
        LOG.info(
                "encrypted-knn gateway: {} on node [{}]",
                next == null
                        ? KeystoreSettings.MASTER_KEY + " not set, gateway operations disabled"
                        : "master key generation " + next.generation() + " loaded",
                nodeName);
        if (previous != null) {
            retire(previous);
        }
    }

    private MasterKey parse(SecureString value) {
        char[] chars = value.getChars().clone();
        ByteBuffer ascii = StandardCharsets.US_ASCII.encode(CharBuffer.wrap(chars));
        byte[] text = new byte[ascii.remaining()];
        ascii.get(text);
        Arrays.fill(chars, '\0');
        if (ascii.hasArray()) {
            Arrays.fill(ascii.array(), (byte) 0);
        }
        int start = 0;
        int end = text.length;
        while (start < end && Character.isWhitespace(text[start])) {
            start++;
        }
        while (end > start && Character.isWhitespace(text[end - 1])) {
            end--;
        }
        byte[] decoded = null;
        try {
            decoded = Base64.getDecoder().decode(Arrays.copyOfRange(text, start, end));
            if (decoded.length != MasterKey.LENGTH) {
                throw KeystoreSettings.keyInvalid(
                        nodeName, "decodes to " + decoded.length + " bytes, not " + MasterKey.LENGTH);
            }
            return MasterKey.of(decoded);
        } catch (IllegalArgumentException e) {
            throw KeystoreSettings.keyInvalid(nodeName, "not valid base64");
        } finally {
            Arrays.fill(text, (byte) 0);
            if (decoded != null) {
                Arrays.fill(decoded, (byte) 0);
            }
        }
    }

    private void retire(KeyState old) {
        old.retire();
        ThreadPool pool = threadPool;
        if (old.isClosed() == false && pool != null) {
            pool.schedule(
                    () -> {
                        if (old.isClosed() == false) {
                            LOG.warn(
                                    "encrypted-knn gateway: closing key generation {} with {} request(s) still holding it",
                                    old.generation(),
                                    old.leases());
                            old.close();
                        }
                    },
                    RETIRED_GRACE,
                    ThreadPool.Names.GENERIC);
        }
    }

    public String nodeName() {
        return nodeName;
    }

    public boolean hasKey() {
        return current.get() != null;
    }

    /** Leases the current key generation; 400 naming the setting if this node has no key. Close the lease when done. */
    public KeyLease acquire() {
        for (int attempt = 0; attempt < 100; attempt++) {
            KeyState state = current.get();
            if (state == null) {
                throw KeystoreSettings.keyNotSet(nodeName);
            }
            if (state.tryLease()) {
                return new KeyLease(state, nodeName);
            }
            // retired between get() and tryLease(): a reload happened, take the new generation
        }
        throw new IllegalStateException(
                "could not lease the encrypted-knn key generation (keystore reloading continuously?)");
    }

    public ModelStore store() {
        return store;
    }

    /** Seals a model under the leased key (the stored form). */
    public String seal(KeyLease lease, EncryptionModel model) {
        return ModelCodec.toJson(model, lease.keys());
    }

    /**
     * Opens a stored model under the leased key; a wrong key is a 400 that says so, a document older than this node has
     * seen (a rollback) a 409 ({@link EpochFloors}).
     */
    public EncryptionModel open(KeyLease lease, String id, String sealedJson) {
        EncryptionModel model;
        try {
            model = ModelCodec.fromJson(sealedJson, lease.keys());
        } catch (ModelDecryptionException e) {
            throw KeystoreSettings.wrongKey(nodeName, id, e);
        }
        floors.check(model);
        return model;
    }

    /** After this node stored {@code model} (rotate, retire): raises its epoch floor and drops the cached copy. */
    public void stored(EncryptionModel model) {
        floors.check(model);
        invalidate(model.id());
    }

    /** The decrypted model {@code id} under the leased generation (cached; see the class comment). 404 if unknown. */
    public void model(KeyLease lease, String id, ActionListener<CachedModel> listener) {
        KeyState state = lease.state();
        CachedModel cached = state.cachedModel(id);
        long now = System.nanoTime();
        if (cached != null && now - cached.loadedAtNanos() < MODEL_REVALIDATE.nanos()) {
            listener.onResponse(cached);
            return;
        }
        store.get(id, new ActionListener<>() {
            @Override
            public void onResponse(ModelStore.StoredModel stored) {
                CachedModel result;
                try {
                    result = load(lease, id, stored);
                } catch (Exception e) {
                    listener.onFailure(e);
                    return;
                }
                listener.onResponse(result);
            }

            @Override
            public void onFailure(Exception e) {
                listener.onFailure(e);
            }
        });
    }

    private CachedModel load(KeyLease lease, String id, ModelStore.StoredModel stored) {
        KeyState state = lease.state();
        if (stored == null) {
            state.invalidate(id);
            throw KeystoreSettings.modelNotFound(id);
        }
        long now = System.nanoTime();
        CachedModel cached = state.cachedModel(id);
        if (cached != null && cached.seqNo() == stored.seqNo() && cached.primaryTerm() == stored.primaryTerm()) {
            cached.touch(now);
            return cached;
        }
        EncryptionModel model = open(lease, id, stored.sealedJson());
        if (model.id().equals(id) == false) {
            throw new IllegalStateException("registry document [" + id + "] holds model [" + model.id() + "]");
        }
        CachedModel fresh = new CachedModel(model, stored.seqNo(), stored.primaryTerm(), now, state);
        state.cacheModel(fresh);
        return fresh;
    }

    /**
     * On a model version's first search, derives its current epoch's cell matrices on the generic pool: otherwise the
     * first searches after a start or a rotation each derive the cells their windows touch (a QR each; 2–4 s of CPU
     * for 64 cells in all). Not when a model is merely loaded (its metadata, a few documents to encrypt): every cached
     * cell costs heap (21 MB for 64 cells at d = 384) until the key generation closes.
     */
    public void warmUpForSearch(CachedModel model) {
        ThreadPool pool = threadPool;
        if (pool == null || model.claimWarmUp() == false) {
            return;
        }
        pool.generic().execute(() -> {
            try {
                model.transform().warmUp();
            } catch (IllegalStateException e) {
                LOG.debug("encrypted-knn gateway: model [{}] not warmed up: {}", model.id(), e.getMessage());
            }
        });
    }

    /** Drops {@code id} from the cache of the current generation (after this node rotated or deleted it). */
    public void invalidate(String id) {
        KeyState state = current.get();
        if (state != null) {
            state.invalidate(id);
        }
    }

    /**
     * The concrete index a write to {@code name} lands in (the write index of an alias or data stream), so that the
     * associated data of encrypted fields is the index the hit will later report. Unknown names are returned as is.
     */
    public String concreteWriteIndex(String name) {
        ClusterService cs = clusterService;
        if (name == null || cs == null) {
            return name;
        }
        try {
            ClusterState state = cs.state();
            IndexAbstraction abstraction = state.metadata().getIndicesLookup().get(name);
            if (abstraction == null || abstraction.getType() == IndexAbstraction.Type.CONCRETE_INDEX) {
                return name;
            }
            IndexMetadata write = abstraction.getWriteIndex();
            return write == null ? name : write.getIndex().getName();
        } catch (RuntimeException e) {
            return name;
        }
    }

    /** Zeroes every key generation (node shutdown). */
    @Override
    public void close() {
        KeyState state = current.getAndSet(null);
        if (state != null) {
            state.close();
        }
    }
}
