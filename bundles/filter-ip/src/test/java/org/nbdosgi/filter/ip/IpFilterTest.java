package org.nbdosgi.filter.ip;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Peer;

class IpFilterTest {
    private static ClientContext tcp(String address) throws Exception {
        return new ClientContext("", false, address, 7,
                new Peer(false, InetAddress.getByName(address), -1, -1, -1, null, null, List.of()));
    }

    private static ClientContext unix(int uid, int gid, int pid) {
        return new ClientContext("", false, "unix:1", 7, new Peer(true, null, uid, gid, pid, null, null, List.of()));
    }

    private static boolean admitted(String allow, String deny, ClientContext c) throws ConfigException {
        try {
            IpFilter.check(c, IpFilter.rules(allow), IpFilter.rules(deny));
            return true;
        } catch (NbdException e) {
            assertEquals(NbdError.EPERM, e.error());
            return false;
        }
    }

    @Test
    void allowIsCheckedFirstThenDenyElseAdmitted() throws Exception {
        assertEquals(true, admitted("127.0.0.1,::1", "all", tcp("127.0.0.1")));
        assertEquals(true, admitted("127.0.0.1,::1", "all", tcp("::1")));
        assertEquals(false, admitted("127.0.0.1,::1", "all", tcp("10.0.0.1")));
        assertEquals(true, admitted("", "8.0.0.0/8", tcp("9.1.2.3")));
        assertEquals(false, admitted("", "8.0.0.0/8", tcp("8.200.2.3")));
        assertEquals(true, admitted("", "", tcp("8.200.2.3")), "no rules: the filter does nothing");
        assertEquals(true, admitted("anyipv6", "all", tcp("2001:db8::1")));
        assertEquals(false, admitted("anyipv6", "all", tcp("192.0.2.1")));
        assertEquals(true, admitted("allipv4", "all", tcp("192.0.2.1")));
    }

    @Test
    void networksOfAnyPrefixLength() throws Exception {
        assertEquals(false, admitted("", "192.168.2.128/25", tcp("192.168.2.200")));
        assertEquals(true, admitted("", "192.168.2.128/25", tcp("192.168.2.100")));
        assertEquals(false, admitted("", "[2001:db8::]/32", tcp("2001:db8:ffff::1")));
        assertEquals(true, admitted("", "2001:db8::/32", tcp("2001:db9::1")));
        assertEquals(false, admitted("", "0.0.0.0/0", tcp("1.2.3.4")));
        assertEquals(true, admitted("", "0.0.0.0/0", tcp("::2")), "an IPv4 network never matches IPv6");
    }

    @Test
    void unixSocketPeersByCredentials() throws Exception {
        assertEquals(true, admitted("uid:1000", "all", unix(1000, 100, 42)));
        assertEquals(false, admitted("uid:1000", "all", unix(1001, 100, 42)));
        assertEquals(true, admitted("gid:100", "all", unix(1001, 100, 42)));
        assertEquals(true, admitted("pid:42", "all", unix(1001, 5, 42)));
        assertEquals(false, admitted("", "allunix", unix(0, 0, 1)));
        assertEquals(true, admitted("", "allunix", tcp("127.0.0.1")));
        assertEquals(false, admitted("uid:1000", "all", tcp("127.0.0.1")), "a TCP client has no uid");
    }

    @Test
    void handlesTheServerOpensForItselfPass() {
        ClientContext internal = new ClientContext("", false, "size probe", -1);
        assertDoesNotThrow(() -> IpFilter.check(internal, List.of(), IpFilter.rules("all")));
    }

    @Test
    void badRulesAreRefusedAtStart() {
        assertEquals("ip: 'localhost' is not an address, a network or a keyword (all, allipv4, allipv6, allunix, uid:N, gid:N, pid:N)",
                assertThrows(ConfigException.class, () -> IpFilter.rules("localhost")).getMessage());
        assertEquals("ip: '10.0.0.0/33': the prefix length must be 0 to 32",
                assertThrows(ConfigException.class, () -> IpFilter.rules("10.0.0.0/33")).getMessage());
        assertEquals("ip: 'uid:me': expected a number after 'uid:'",
                assertThrows(ConfigException.class, () -> IpFilter.rules("uid:me")).getMessage());
    }
}
