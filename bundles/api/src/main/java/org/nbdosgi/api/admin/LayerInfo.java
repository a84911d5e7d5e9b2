package org.nbdosgi.api.admin;

import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ThreadModel;

/**
 * One layer of a running export: its name, whether it is a filter, the parameters it received, its
 * thread model, and what it says about itself right now ({@link org.nbdosgi.api.FilterInstance#status()}, one line
 * each; empty for most layers).
 */
public record LayerInfo(String name, boolean filter, Map<String, String> params, ThreadModel threadModel, List<String> status) {
    public LayerInfo {
        params = Map.copyOf(params);
        status = List.copyOf(status);
    }
}
