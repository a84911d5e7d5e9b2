package org.nbdosgi.api;

import java.util.List;
import java.util.Map;

/**
 * One layer of a running export: its name, whether it is a filter, the parameters it received, its
 * thread model, and what it says about itself right now ({@link FilterInstance#status()}, one line
 * each; empty for most layers).
 */
public record LayerInfo(String name, boolean filter, Map<String, String> params, ThreadModel threadModel, List<String> status) {
    public LayerInfo {
        params = Map.copyOf(params);
        status = List.copyOf(status);
    }

    public LayerInfo(String name, boolean filter, Map<String, String> params, ThreadModel threadModel) {
        this(name, filter, params, threadModel, List.of());
    }
}
