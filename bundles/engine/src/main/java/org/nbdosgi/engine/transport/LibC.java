package org.nbdosgi.engine.transport;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.channels.SocketChannel;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few libc calls on a socket's descriptor the JDK does not offer, through
 * {@code java.lang.foreign} (final from Java 22). The bundles are built for Java 21, so the API is
 * reached through reflection once, and through method handles after that; before Java 22, off
 * Linux, or when {@code sun.nio.ch} is not exported to us (the launcher exports it),
 * {@link #AVAILABLE} is false.
 */
final class LibC {
    private static final Logger LOG = LoggerFactory.getLogger(LibC.class);

    /** Whether {@link #downcall}, {@link #fd} and {@link #ADDRESS_OF} work here. */
    static final boolean AVAILABLE;
    /** {@code (Buffer) long}: the native address of a direct buffer's position. */
    static final MethodHandle ADDRESS_OF;
    /** {@code (Buffer) Object}: a direct buffer as a MemorySegment, from its position to its limit (to pass as a pointer). */
    static final MethodHandle SEGMENT_OF;
    private static final Method FD_VAL = fdVal();
    private static final Object LINKER;
    private static final Object LIBC;
    private static final Class<?> LAYOUT;
    private static final Class<?> SEGMENT;

    private LibC() {
    }

    /** The descriptor of an open channel, or -1 if it cannot be had. */
    static int fd(SocketChannel channel) {
        if (FD_VAL == null) {
            return -1;
        }
        try {
            return (Integer) FD_VAL.invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * A handle on the libc function {@code name} taking {@code args} and returning {@code result},
     * each "int", "long" or "pointer" (a pointer is passed as a MemorySegment); with
     * {@code firstVariadic} >= 0, the arguments from that index on are variadic. Only when
     * {@link #AVAILABLE}.
     */
    static MethodHandle downcall(String name, String result, int firstVariadic, String... args) throws ReflectiveOperationException {
        Class<?> descriptor = Class.forName("java.lang.foreign.FunctionDescriptor");
        Class<?> linker = Class.forName("java.lang.foreign.Linker");
        Class<?> option = Class.forName("java.lang.foreign.Linker$Option");
        Object argLayouts = Array.newInstance(LAYOUT, args.length);
        for (int i = 0; i < args.length; i++) {
            Array.set(argLayouts, i, layout(args[i]));
        }
        Object function = descriptor.getMethod("of", LAYOUT, argLayouts.getClass()).invoke(null, layout(result), argLayouts);
        Object options = Array.newInstance(option, firstVariadic < 0 ? 0 : 1);
        if (firstVariadic >= 0) {
            Array.set(options, 0, option.getMethod("firstVariadicArg", int.class).invoke(null, firstVariadic));
        }
        Object symbol = ((Optional<?>) Class.forName("java.lang.foreign.SymbolLookup").getMethod("find", String.class)
                .invoke(LIBC, name)).orElseThrow(() -> new NoSuchMethodException(name));
        return (MethodHandle) linker.getMethod("downcallHandle", SEGMENT, descriptor, options.getClass())
                .invoke(LINKER, symbol, function, options);
    }

    private static Object layout(String type) throws ReflectiveOperationException {
        Class<?> valueLayout = Class.forName("java.lang.foreign.ValueLayout");
        return valueLayout.getField(switch (type) {
            case "int" -> "JAVA_INT";
            case "long" -> "JAVA_LONG";
            case "pointer" -> "ADDRESS";
            default -> throw new IllegalArgumentException(type);
        }).get(null);
    }

    /** {@code sun.nio.ch.SelChImpl.getFDVal()}, if this JVM lets us call it (on Linux); else null. */
    private static Method fdVal() {
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return null;
        }
        try {
            Method m = Class.forName("sun.nio.ch.SelChImpl", false, null).getMethod("getFDVal");
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.info("socket descriptors unavailable (the JVM needs --add-exports java.base/sun.nio.ch=ALL-UNNAMED): {}", e.toString());
            return null;
        }
    }

    static {
        boolean available = false;
        MethodHandle addressOf = null;
        MethodHandle segmentOf = null;
        Object linker = null;
        Object libc = null;
        Class<?> layout = null;
        Class<?> segment = null;
        if (FD_VAL != null && Runtime.version().feature() >= 22) {
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                segment = Class.forName("java.lang.foreign.MemorySegment");
                layout = Class.forName("java.lang.foreign.MemoryLayout");
                Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
                linker = linkerClass.getMethod("nativeLinker").invoke(null);
                libc = linkerClass.getMethod("defaultLookup").invoke(linker);
                MethodHandle ofBuffer = lookup.findStatic(segment, "ofBuffer", MethodType.methodType(segment, Buffer.class));
                MethodHandle address = lookup.findVirtual(segment, "address", MethodType.methodType(long.class));
                addressOf = MethodHandles.filterReturnValue(ofBuffer, address);
                segmentOf = ofBuffer.asType(MethodType.methodType(Object.class, Buffer.class));
                available = true;
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.debug("java.lang.foreign unavailable: {}", e.toString());
            }
        }
        AVAILABLE = available;
        ADDRESS_OF = addressOf;
        SEGMENT_OF = segmentOf;
        LINKER = linker;
        LIBC = libc;
        LAYOUT = layout;
        SEGMENT = segment;
    }
}
