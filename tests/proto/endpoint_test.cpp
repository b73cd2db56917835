// Endpoint: parsing both families, printing, and v4-mapped addresses folding to IPv4.
#include "proto/endpoint.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

namespace chat::proto {
namespace {

TEST(Endpoint, ParsesAndPrintsIpv4) {
    const auto e = Endpoint::parse("203.0.113.5:7777");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->is_v4());
    EXPECT_EQ(e->port(), 7777);
    EXPECT_EQ(e->to_string(), "203.0.113.5:7777");
}

TEST(Endpoint, ParsesAndPrintsIpv6InBrackets) {
    const auto e = Endpoint::parse("[2001:db8::1]:443");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->is_v6());
    EXPECT_EQ(e->to_string(), "[2001:db8::1]:443");
}

TEST(Endpoint, V4MappedIpv6FoldsToIpv4) {
    const auto e = Endpoint::parse("[::ffff:192.0.2.1]:9");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->is_v4());
    EXPECT_EQ(*e, *Endpoint::parse("192.0.2.1:9"));
}

TEST(Endpoint, RejectsMalformedText) {
    for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
                            "1.2.3:80", "host:80", "::1:80", "[::1]", "[::1]80", "[zz]:1",
                            "1.2.3.4:80x", "1.2.3.4:0080000"})
        EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}

TEST(Endpoint, SockaddrRoundTripInBothSocketFamilies) {
    const auto v4 = *Endpoint::parse("127.0.0.1:5000");
    sockaddr_storage ss{};
    ASSERT_TRUE(v4.to_sockaddr(AF_INET, ss));
    EXPECT_EQ(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), v4);
    ASSERT_TRUE(v4.to_sockaddr(AF_INET6, ss));  // as v4-mapped on a dual-stack socket
    EXPECT_EQ(ss.ss_family, AF_INET6);
    EXPECT_EQ(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), v4);
    const auto v6 = *Endpoint::parse("[::1]:5000");
    EXPECT_FALSE(v6.to_sockaddr(AF_INET, ss));
    EXPECT_EQ(Endpoint::from_sockaddr(nullptr), std::nullopt);
}

TEST(Endpoint, ClassifiesLoopbackAndUnspecified) {
    EXPECT_TRUE(Endpoint::parse("127.8.0.1:1")->is_loopback());
    EXPECT_TRUE(Endpoint::parse("[::1]:1")->is_loopback());
    EXPECT_FALSE(Endpoint::parse("10.0.0.1:1")->is_loopback());
    EXPECT_TRUE(Endpoint::parse("0.0.0.0:1")->is_unspecified());
    EXPECT_TRUE(Endpoint::parse("[::]:1")->is_unspecified());
}

TEST(Endpoint, EqualEndpointsHashEqual) {
    EndpointHash h;
    EXPECT_EQ(h(*Endpoint::parse("1.2.3.4:5")), h(*Endpoint::parse("[::ffff:1.2.3.4]:5")));
    EXPECT_NE(h(*Endpoint::parse("1.2.3.4:5")), h(*Endpoint::parse("1.2.3.4:6")));
}

} // namespace
} // namespace chat::proto
