// parse_host_port: the --rendezvous argument, before resolution.
#include "peer/host_port.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

TEST(HostPort, NamesAndIpv4Literals) {
    EXPECT_EQ(parse_host_port("chat.example.org:7777"), (HostPort{"chat.example.org", 7777}));
    EXPECT_EQ(parse_host_port("192.0.2.1:1"), (HostPort{"192.0.2.1", 1}));
    EXPECT_EQ(parse_host_port("localhost:65535"), (HostPort{"localhost", 65535}));
}

TEST(HostPort, Ipv6LiteralsNeedBrackets) {
    EXPECT_EQ(parse_host_port("[::1]:7777"), (HostPort{"::1", 7777}));
    EXPECT_EQ(parse_host_port("[2001:db8::1]:80"), (HostPort{"2001:db8::1", 80}));
    EXPECT_FALSE(parse_host_port("::1:7777"));
}

TEST(HostPort, BadPortsAndEmptyHostsAreRefused) {
    for (const char* bad : {"", "host", "host:", ":7777", "host:0", "host:65536", "host:77x",
                            "host:-1", "[]:7777", "[::1:7777"})
        EXPECT_FALSE(parse_host_port(bad)) << bad;
}

} // namespace
} // namespace chat::peer
