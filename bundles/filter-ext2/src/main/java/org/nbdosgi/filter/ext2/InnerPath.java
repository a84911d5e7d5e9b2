package org.nbdosgi.filter.ext2;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks the path of a file inside the filesystem, as given by {@code ext2file=} or by a client's
 * export name: absolute, no {@code ..}, no control characters. Empty and {@code .} components are
 * dropped. The filesystem is all a path can reach, but {@code ..} is refused anyway so that export
 * names stay plain, as nbdkit users expect.
 */
final class InnerPath {
    private static final int MAX_LENGTH = 4096;

    private InnerPath() {
    }

    /**
     * Returns the path in its plain form ({@code /a/b}).
     *
     * @throws IllegalArgumentException with a message for the user
     */
    static String check(String path) {
        if (path.isEmpty()) {
            throw new IllegalArgumentException("no file given: name the file inside the filesystem by its absolute path");
        }
        if (path.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("the path is longer than " + MAX_LENGTH + " characters");
        }
        if (path.charAt(0) != '/') {
            throw new IllegalArgumentException("'" + path + "': the path must be absolute (start with /)");
        }
        if (path.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new IllegalArgumentException("the path contains control characters");
        }
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (part.equals("..")) {
                throw new IllegalArgumentException("'" + path + "': '..' is not allowed in the path");
            }
            if (!part.isEmpty() && !part.equals(".")) {
                parts.add(part);
            }
        }
        return "/" + String.join("/", parts);
    }
}
