package org.nbdosgi.console;

import org.apache.felix.service.command.Converter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * Lets Gogo commands that take a {@link Bundle} (gogo.command's {@code headers 21}, {@code headers
 * org.nbdosgi.plugin.memory}) take a bundle id or symbolic name in every Gogo session, the console socket's included: the interactive shell's own converters are
 * only there when it runs. (The bundle commands of {@link BundleCommands} read the words themselves.)
 */
@Component(service = Converter.class)
public final class BundleConverter implements Converter {
    private BundleContext context;

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
    }

    @Override
    public Object convert(Class<?> desiredType, Object in) {
        if (desiredType != Bundle.class || in == null) {
            return null;
        }
        String text = in.toString().trim();
        if (text.matches("\\d+")) {
            return context.getBundle(Long.parseLong(text));
        }
        for (Bundle b : context.getBundles()) {
            if (text.equals(b.getSymbolicName())) {
                return b;
            }
        }
        return null;
    }

    @Override
    public CharSequence format(Object target, int level, Converter escape) {
        return null;
    }
}
