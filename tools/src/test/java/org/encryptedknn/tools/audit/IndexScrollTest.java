package org.encryptedknn.tools.audit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.encryptedknn.client.EncryptedSearch;
import org.encryptedknn.client.OpenSearchHttp;
import org.encryptedknn.transform.EncryptedVector;
import org.junit.Test;

/** The index mode reads stored records, keyed and sealed, page by page from a scroll (a stub node answers). */
public class IndexScrollTest {

    @Test
    public void scrollsAllStoredRecords() throws Exception {
        EncryptedVector v =
                new EncryptedVector(new float[] {1f, 2f}, new byte[16], 3, new float[] {0.5f, -0.5f, 0.25f}, 1);
        String record = EncryptedSearch.recordJson(v).toString();
        // a sealed record beside the keyed ones (an index may hold both): each is read with its own shape
        EncryptedVector sealed = EncryptedVector.sealed(new float[] {1f, 2f}, new byte[16], new byte[3 * 4 + 16], 1);
        String page1 = "{\"_scroll_id\":\"s1\",\"hits\":{\"hits\":[{\"_id\":\"0\",\"_source\":{\"embedding\":" + record
                + "}}," + "{\"_id\":\"1\",\"_source\":{\"embedding\":" + record
                + "}},{\"_id\":\"x\",\"_source\":{}}]}}";
        String page2 = "{\"_scroll_id\":\"s1\",\"hits\":{\"hits\":[{\"_id\":\"2\",\"_source\":{\"embedding\":"
                + EncryptedSearch.recordJson(sealed) + "}}]}}";
        String empty = "{\"_scroll_id\":\"s1\",\"hits\":{\"hits\":[]}}";
        AtomicInteger scrolls = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            String body;
            if (path.equals("/idx/_search")) {
                body = page1;
            } else if (path.equals("/_search/scroll") && ex.getRequestMethod().equals("POST")) {
                body = scrolls.getAndIncrement() == 0 ? page2 : empty;
            } else {
                body = "{}";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, bytes.length);
            ex.getResponseBody().write(bytes);
            ex.close();
        });
        server.start();
        try {
            IndexAudit.Stored s = IndexAudit.scroll(
                    new OpenSearchHttp("http://127.0.0.1:" + server.getAddress().getPort()),
                    "idx",
                    "embedding",
                    new ProgressLog(true));
            assertEquals(3, s.records().size());
            assertEquals("2", s.ids().get(2));
            assertEquals(v, s.records().get(0));
            assertTrue(s.records().get(1).keyedResidual().length == 3);
            assertEquals(sealed, s.records().get(2));
        } finally {
            server.stop(0);
        }
    }
}
