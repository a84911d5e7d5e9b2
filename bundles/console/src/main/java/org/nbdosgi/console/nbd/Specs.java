package org.nbdosgi.console.nbd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;

/** The changes the console makes to an export's spec, as pure functions. */
final class Specs {
    private Specs() {
    }

    /** {@code key=value} words as a map; anything else is a mistake. */
    static Map<String, String> params(List<String> words) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq <= 0) {
                throw new Command.Failure("'" + w + "' is not key=value");
            }
            out.put(w.substring(0, eq), w.substring(eq + 1));
        }
        return out;
    }

    /** The spec with {@code filter} at {@code position} (0 is outermost) and its parameters added. */
    static ExportSpec insertFilter(ExportSpec spec, String filter, int position, Map<String, String> params) {
        if (position < 0 || position > spec.filters().size()) {
            throw new Command.Failure("--position must be 0.." + spec.filters().size());
        }
        List<String> filters = new ArrayList<>(spec.filters());
        filters.add(position, filter);
        Map<String, String> all = new LinkedHashMap<>(spec.params());
        for (Map.Entry<String, String> p : params.entrySet()) {
            if (all.containsKey(p.getKey())) {
                throw new Command.Failure(p.getKey() + " is already set on this export (use nbd:export-set)");
            }
            all.put(p.getKey(), p.getValue());
        }
        return new ExportSpec(spec.name(), spec.plugin(), filters, all, spec.readOnly());
    }

    /** The spec without the outermost {@code filter} and without the parameters it declares. */
    static ExportSpec removeFilter(ExportSpec spec, String filter, List<Parameter> declared) {
        List<String> filters = new ArrayList<>(spec.filters());
        if (!filters.remove(filter)) {
            throw new Command.Failure("export " + Command.quoted(spec.name()) + " has no filter '" + filter + "'");
        }
        boolean stillThere = filters.contains(filter);
        Map<String, String> params = new LinkedHashMap<>();
        spec.params().forEach((k, v) -> {
            if (stillThere || declared.stream().noneMatch(p -> p.matches(k))) {
                params.put(k, v);
            }
        });
        return new ExportSpec(spec.name(), spec.plugin(), filters, params, spec.readOnly());
    }

    /**
     * The spec with parameters set: an existing key (or the bare value, when {@code key} is the
     * plugin's magic parameter) is replaced, a new one added.
     */
    static ExportSpec setParams(ExportSpec spec, Map<String, String> changes, String magicParameter) {
        Map<String, String> params = new LinkedHashMap<>(spec.params());
        changes.forEach((k, v) -> {
            if (k.equals(magicParameter) && params.containsKey(ExportSpec.MAGIC_KEY)) {
                params.put(ExportSpec.MAGIC_KEY, v);
            } else {
                params.put(k, v);
            }
        });
        return new ExportSpec(spec.name(), spec.plugin(), spec.filters(), params, spec.readOnly());
    }
}
