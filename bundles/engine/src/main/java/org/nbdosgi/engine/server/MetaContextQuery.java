package org.nbdosgi.engine.server;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which meta contexts a client's queries name (NBD_OPT_LIST_META_CONTEXT, NBD_OPT_SET_META_CONTEXT),
 * by the spec's rules and qemu's for its namespace: every query starts with a namespace and a
 * colon; a query that ends with a colon ({@code base:}, {@code qemu:}, {@code qemu:dirty-bitmap:})
 * is a wildcard when listing, for every context it starts, and selects nothing when setting; any
 * other query names one context exactly; queries naming nothing offered (an unknown namespace
 * included) are ignored. Listing with no query lists everything offered. Data plane (handshake).
 */
final class MetaContextQuery {
    private MetaContextQuery() {
    }

    /**
     * The contexts of {@code offered} the queries name, in the order the queries name them, each once.
     *
     * @throws IllegalArgumentException a query without a namespace (the client gets NBD_REP_ERR_INVALID)
     */
    static List<String> matching(List<String> offered, List<String> queries, boolean listing) {
        if (listing && queries.isEmpty()) {
            return List.copyOf(offered);
        }
        Set<String> found = new LinkedHashSet<>();
        for (String q : queries) {
            int colon = q.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("query '" + q + "' does not start with a namespace and a colon");
            }
            if (q.endsWith(":")) {
                if (listing) {
                    offered.stream().filter(c -> c.startsWith(q)).forEach(found::add);
                }
            } else if (offered.contains(q)) {
                found.add(q);
            }
        }
        return new ArrayList<>(found);
    }
}
