package org.nbdosgi.filter.ip;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.function.Predicate;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Peer;

/**
 * One entry of an {@code allow=} or {@code deny=} list, in nbdkit's syntax: {@code all},
 * {@code allipv4}, {@code allipv6}, {@code allunix}, {@code allvsock} (and their {@code any}
 * spellings), an address, a network {@code ADDR/BITS}, or over a Unix socket {@code uid:N},
 * {@code gid:N}, {@code pid:N}. {@code vsock-cid:} and {@code vsock-port:} are accepted and never
 * match: this server does not listen on AF_VSOCK. Immutable.
 */
record IpRule(String text, Predicate<Peer> test) {

    boolean matches(Peer peer) {
        return test.test(peer);
    }

    static IpRule parse(String rule) throws ConfigException {
        String r = rule.strip();
        Predicate<Peer> test = switch (r) {
            case "all", "any" -> p -> true;
            case "allipv4", "anyipv4" -> p -> p.address() instanceof Inet4Address;
            case "allipv6", "anyipv6" -> p -> p.address() instanceof Inet6Address;
            case "allunix", "anyunix" -> Peer::unixSocket;
            case "allvsock", "anyvsock" -> p -> false;
            default -> null;
        };
        if (test == null) {
            int colon = r.indexOf(':');
            String kind = colon < 0 ? "" : r.substring(0, colon);
            test = switch (kind) {
                case "uid" -> { int id = number(r, colon); yield p -> p.unixSocket() && p.uid() == id; }
                case "gid" -> { int id = number(r, colon); yield p -> p.unixSocket() && p.gid() == id; }
                case "pid" -> { int id = number(r, colon); yield p -> p.unixSocket() && p.pid() == id; }
                case "vsock-cid", "vsock-port" -> { number(r, colon); yield p -> false; }
                default -> network(r);
            };
        }
        return new IpRule(r, test);
    }

    private static int number(String rule, int colon) throws ConfigException {
        try {
            int n = Integer.parseInt(rule.substring(colon + 1));
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ConfigException("ip: '" + rule + "': expected a number after '" + rule.substring(0, colon + 1) + "'");
        }
    }

    /** {@code A.B.C.D}, {@code A.B.C.D/NN}, an IPv6 address (brackets optional), {@code IPv6/NN}. */
    private static Predicate<Peer> network(String rule) throws ConfigException {
        int slash = rule.indexOf('/');
        String addr = slash < 0 ? rule : rule.substring(0, slash);
        if (addr.startsWith("[") && addr.endsWith("]")) {
            addr = addr.substring(1, addr.length() - 1);
        }
        // only literals: a host name here would make every connection wait for DNS
        if (addr.isEmpty() || !addr.matches("[0-9a-fA-F:.]+") || !(addr.contains(".") || addr.contains(":"))) {
            throw new ConfigException("ip: '" + rule + "' is not an address, a network or a keyword "
                    + "(all, allipv4, allipv6, allunix, uid:N, gid:N, pid:N)");
        }
        byte[] net;
        try {
            net = InetAddress.getByName(addr).getAddress();
        } catch (UnknownHostException e) {
            throw new ConfigException("ip: '" + rule + "' is not a valid address");
        }
        int bits = net.length * 8;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(rule.substring(slash + 1));
            } catch (NumberFormatException e) {
                bits = -1;
            }
            if (bits < 0 || bits > net.length * 8) {
                throw new ConfigException("ip: '" + rule + "': the prefix length must be 0 to " + net.length * 8);
            }
        }
        int prefix = bits;
        return p -> p.address() != null && inNetwork(p.address().getAddress(), net, prefix);
    }

    private static boolean inNetwork(byte[] a, byte[] net, int bits) {
        if (a.length != net.length) {
            return false;
        }
        int whole = bits / 8;
        for (int i = 0; i < whole; i++) {
            if (a[i] != net[i]) {
                return false;
            }
        }
        int rest = bits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[whole] & mask) == (net[whole] & mask);
    }
}
