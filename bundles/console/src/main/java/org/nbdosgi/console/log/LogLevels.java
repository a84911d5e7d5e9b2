package org.nbdosgi.console.log;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.nbdosgi.logging.LogSetup;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;

/**
 * Logger levels from the configuration {@code org.nbdosgi.log} ({@code etc/org.nbdosgi.log.cfg},
 * which {@code log:set} writes and a user may edit): {@code level.LOGGER = LEVEL}, with
 * {@code level.ROOT} for the root logger, applied when the console starts (over the launcher's
 * {@code nbd.log.level}, so lines logged before keep the launcher's) and again at every change.
 * A logger taken out of the file gets back the level it started with. Control plane.
 */
@Component(configurationPid = LogLevels.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true, service = {})
public final class LogLevels {
    static final String PID = "org.nbdosgi.log";
    static final String PREFIX = "level.";

    /** The loggers this configuration set. */
    private final Set<String> applied = new HashSet<>();

    @Activate
    @Modified
    void apply(Map<String, Object> properties) {
        LoggerContext context = Logback.contextOrNull();
        if (context == null) {
            return;
        }
        Map<String, Level> wanted = new HashMap<>();
        properties.forEach((key, value) -> {
            if (key.startsWith(PREFIX) && key.length() > PREFIX.length()) {
                String level = String.valueOf(value).trim().toUpperCase(Locale.ROOT);
                if (Logback.LEVELS.contains(level)) {
                    wanted.put(key.substring(PREFIX.length()), Level.toLevel(level));
                } else {
                    LoggerFactory.getLogger(LogLevels.class).warn("{}: {} = {} is not a level (one of {})", PID, key, value,
                            String.join(", ", Logback.LEVELS));
                }
            }
        });
        for (Iterator<String> i = applied.iterator(); i.hasNext();) {
            String name = i.next();
            if (!wanted.containsKey(name)) {
                context.getLogger(name).setLevel(LogSetup.initialLevel(name));
                i.remove();
            }
        }
        wanted.forEach((name, level) -> {
            context.getLogger(name).setLevel(level);
            applied.add(name);
        });
    }

    @Deactivate
    void restore() {
        apply(Map.of());
    }
}
