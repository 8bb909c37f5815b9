package org.encryptedknn.codec;

import org.apache.lucene.codecs.Codec;
import org.opensearch.index.codec.CodecService;
import org.opensearch.index.codec.CodecServiceConfig;
import org.opensearch.index.mapper.MapperService;

/**
 * Codec service of an index with {@code index.encrypted_knn: true}: every codec OpenSearch offers
 * ({@code index.codec}), wrapped in {@link EncryptedKnnCodec}.
 */
public final class EncryptedKnnCodecService extends CodecService {

    private final MapperService mapperService;

    public EncryptedKnnCodecService(CodecServiceConfig config) {
        super(config.getMapperService(), config.getIndexSettings(), config.getLogger(), config.getAdditionalCodecs());
        this.mapperService = config.getMapperService();
    }

    @Override
    public Codec codec(String name) {
        Codec codec = super.codec(name);
        if (mapperService == null) {
            return codec; // no mappings known (e.g. a temporary index service): nothing to route
        }
        return new EncryptedKnnCodec(codec, mapperService);
    }
}
