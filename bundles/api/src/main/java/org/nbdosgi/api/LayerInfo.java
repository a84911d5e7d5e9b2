package org.nbdosgi.api;

import java.util.Map;

/** One layer of a running export: its name, whether it is a filter, the parameters it received. */
public record LayerInfo(String name, boolean filter, Map<String, String> params, ThreadModel threadModel) {
    public LayerInfo {
        params = Map.copyOf(params);
    }
}
