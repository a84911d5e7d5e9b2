package org.nbdosgi.api;

import java.time.Duration;
import java.util.Locale;

/** Parsing and printing of the values users type: sizes ({@code 1G}), durations ({@code 10ms}), booleans. */
public final class Units {
    private static final String SIZE_SUFFIXES = "KMGTPE";

    private Units() {
    }

    /**
     * A size in bytes: a number with an optional suffix K M G T P E (powers of 1024, upper or lower
     * case, an optional trailing {@code B} or {@code iB}), or a {@code b}/{@code s} suffix for
     * 512-byte sectors as nbdkit accepts. Up to 2^63-1.
     *
     * @throws IllegalArgumentException with a readable message
     */
    public static long parseSize(String text) {
        String s = text.trim();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty size");
        }
        String upper = s.toUpperCase(Locale.ROOT);
        if (upper.endsWith("IB")) {
            upper = upper.substring(0, upper.length() - 2);
        } else if (upper.length() > 1 && upper.endsWith("B") && SIZE_SUFFIXES.indexOf(upper.charAt(upper.length() - 2)) >= 0) {
            upper = upper.substring(0, upper.length() - 1);
        }
        int shift = 0;
        char last = upper.charAt(upper.length() - 1);
        int idx = SIZE_SUFFIXES.indexOf(last);
        String digits = upper;
        if (idx >= 0) {
            shift = 10 * (idx + 1);
            digits = upper.substring(0, upper.length() - 1);
        } else if (last == 'S' || (last == 'B' && upper.length() > 1)) {
            shift = 9;
            digits = upper.substring(0, upper.length() - 1);
        }
        long value;
        try {
            value = Long.parseLong(digits.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot parse size '" + text + "'");
        }
        if (value < 0) {
            throw new IllegalArgumentException("size must not be negative: '" + text + "'");
        }
        if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size too large: '" + text + "' (the largest is 2^63-1 bytes)");
        }
        return value << shift;
    }

    /**
     * A duration: a number (integer or decimal) with a unit {@code ns us ms s m h}; a bare number
     * means seconds. Examples: {@code 10ms}, {@code 1s}, {@code 500us}, {@code 0.5}.
     */
    public static Duration parseDuration(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        int i = 0;
        while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException("cannot parse duration '" + text + "'");
        }
        double number;
        try {
            number = Double.parseDouble(s.substring(0, i));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot parse duration '" + text + "'");
        }
        double nanosPerUnit = switch (s.substring(i).trim()) {
            case "ns" -> 1;
            case "us", "µs" -> 1e3;
            case "ms" -> 1e6;
            case "", "s" -> 1e9;
            case "m", "min" -> 60e9;
            case "h" -> 3600e9;
            default -> throw new IllegalArgumentException("unknown unit in duration '" + text + "' (use ns, us, ms, s, m or h)");
        };
        return Duration.ofNanos(Math.round(number * nanosPerUnit));
    }

    /** true/false, yes/no, on/off, 1/0 (any case). */
    public static boolean parseBoolean(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException("cannot parse boolean '" + text + "' (use true or false)");
        };
    }

    /** A size for people: {@code 1G}, {@code 512M}, {@code 1536K}, or plain bytes when not a whole unit. */
    public static String formatSize(long bytes) {
        for (int i = SIZE_SUFFIXES.length() - 1; i >= 0; i--) {
            int shift = 10 * (i + 1);
            if (bytes != 0 && bytes % (1L << shift) == 0) {
                return (bytes >> shift) + String.valueOf(SIZE_SUFFIXES.charAt(i));
            }
        }
        return Long.toString(bytes);
    }
}
