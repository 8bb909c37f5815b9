package org.encryptedknn.dropin;

import org.encryptedknn.search.pipeline.DropInKnnSearch;
import org.opensearch.action.ActionRequest;
import org.opensearch.action.search.SearchAction;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.ActionFilter;
import org.opensearch.action.support.ActionFilterChain;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.tasks.Task;

/**
 * The drop-in opt-in's hook into the node's actions (docs/gateway-mode.md, "Drop-in"): the search action goes to
 * {@link DropInKnnSearch} (the k-NN plugin's {@code knn} query on encrypted fields), create-index and put-mapping to
 * {@link DropInMappings} ({@code knn_vector} fields of opted-in indices). An action filter runs on the node that
 * received the request, before any search pipeline, whichever one the request names; requests that concern no
 * opted-in index pass through untouched.
 */
public final class DropInActionFilter implements ActionFilter {

    private final DropInKnnSearch search;
    private final DropInMappings mappings;

    public DropInActionFilter(DropInKnnSearch search, DropInMappings mappings) {
        this.search = search;
        this.mappings = mappings;
    }

    @Override
    public int order() {
        return 0; // after the security plugin's filter (Integer.MIN_VALUE)
    }

    @Override
    @SuppressWarnings("unchecked")
    public <Request extends ActionRequest, Response extends ActionResponse> void apply(
            Task task,
            String action,
            Request request,
            ActionListener<Response> listener,
            ActionFilterChain<Request, Response> chain) {
        if (SearchAction.NAME.equals(action)
                && search.intercept(
                        request,
                        (ActionListener<SearchResponse>) listener,
                        finish -> chain.proceed(task, action, request, (ActionListener<Response>) finish))) {
            return;
        }
        if (mappings.intercept(
                action, request, () -> chain.proceed(task, action, request, listener), listener::onFailure)) {
            return;
        }
        chain.proceed(task, action, request, listener);
    }
}
