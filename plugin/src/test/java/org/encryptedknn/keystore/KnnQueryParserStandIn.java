package org.encryptedknn.keystore;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.search.Query;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;

/**
 * The in-JVM node has no k-NN plugin, whose parser turns {@code {"knn":…}} into a query builder. This stand-in parses
 * the same JSON and writes it back unchanged, so the drop-in translation sees what it sees on a real node; it never
 * runs on a shard (its {@code doToQuery} fails the test if a {@code knn} query reaches one). The real k-NN plugin is
 * exercised by the YAML test against the node of scripts/test.sh.
 */
public final class KnnQueryParserStandIn extends Plugin implements SearchPlugin {

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<>(KnnJson.NAME, KnnJson::new, KnnJson::fromXContent));
    }

    static final class KnnJson extends AbstractQueryBuilder<KnnJson> {
        static final String NAME = "knn";
        private final Map<String, Object> body;

        KnnJson(Map<String, Object> body) {
            this.body = body;
        }

        KnnJson(StreamInput in) throws IOException {
            super(in);
            this.body = in.readMap();
        }

        static KnnJson fromXContent(XContentParser parser) throws IOException {
            return new KnnJson(parser.map());
        }

        @Override
        protected void doWriteTo(StreamOutput out) throws IOException {
            out.writeMap(body);
        }

        @Override
        protected void doXContent(XContentBuilder builder, Params params) throws IOException {
            builder.field(NAME, body);
        }

        @Override
        protected Query doToQuery(QueryShardContext context) {
            throw new AssertionError("a [knn] query reached a shard: " + body);
        }

        @Override
        protected boolean doEquals(KnnJson other) {
            return body.equals(other.body);
        }

        @Override
        protected int doHashCode() {
            return Objects.hash(body);
        }

        @Override
        public String getWriteableName() {
            return NAME;
        }
    }
}
