// Endpoint: parsing both families, printing, and v4-mapped addresses folding to IPv4.
#include "proto/endpoint.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

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
    for (const char* bad :
         {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3:80", "host:80", "::1:80",
          "[::1]", "[::1]80", "[zz]:1", "1.2.3.4:80x", "1.2.3.4:0080000"})
        EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}

TEST(Endpoint, SockaddrRoundTripInBothSocketFamilies) {
    const auto v4 = *Endpoint::parse("127.0.0.1:5000");
    sockaddr_storage ss{};
    ASSERT_TRUE(v4.to_sockaddr(AF_INET, ss));
    EXPECT_EQ(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)), v4);
    ASSERT_TRUE(v4.to_sockaddr(AF_INET6, ss)); // as v4-mapped on a dual-stack socket
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

bool all(bool (Endpoint::*is)() const, std::initializer_list<const char*> texts) {
    bool ok = true;
    for (const char* t : texts) {
        const auto e = Endpoint::parse(t);
        EXPECT_TRUE(e) << t;
        if (e && !((*e).*is)()) {
            ADD_FAILURE() << t << " should be in the class";
            ok = false;
        }
    }
    return ok;
}
bool none(bool (Endpoint::*is)() const, std::initializer_list<const char*> texts) {
    bool ok = true;
    for (const char* t : texts) {
        const auto e = Endpoint::parse(t);
        EXPECT_TRUE(e) << t;
        if (e && ((*e).*is)()) {
            ADD_FAILURE() << t << " should not be in the class";
            ok = false;
        }
    }
    return ok;
}

// Each range: its first and last address inside, and the neighbours just outside.
TEST(Endpoint, PrivateIsExactlyTheThreeRfc1918Ranges) {
    EXPECT_TRUE(all(&Endpoint::is_private,
                    {"10.0.0.0:1", "10.255.255.255:1", "172.16.0.0:1", "172.31.255.255:1",
                     "192.168.0.0:1", "192.168.255.255:1", "[::ffff:10.1.2.3]:1"}));
    EXPECT_TRUE(none(&Endpoint::is_private, {"9.255.255.255:1", "11.0.0.0:1", "172.15.255.255:1",
                                             "172.32.0.0:1", "192.167.255.255:1", "192.169.0.0:1",
                                             "100.64.0.1:1", "127.0.0.1:1", "[fd00::1]:1"}));
}

TEST(Endpoint, CgnatIsOneHundredSixtyFourSlashTen) {
    EXPECT_TRUE(all(&Endpoint::is_cgnat, {"100.64.0.0:1", "100.127.255.255:1"}));
    EXPECT_TRUE(none(&Endpoint::is_cgnat, {"100.63.255.255:1", "100.128.0.0:1", "10.64.0.1:1"}));
}

TEST(Endpoint, UlaIsFcZeroZeroSlashSeven) {
    EXPECT_TRUE(all(&Endpoint::is_ula, {"[fc00::]:1", "[fdff:ffff::1]:1"}));
    EXPECT_TRUE(none(&Endpoint::is_ula, {"[fbff:ffff::1]:1", "[fe00::]:1", "10.0.0.1:1"}));
}

TEST(Endpoint, LinkLocalInBothFamilies) {
    EXPECT_TRUE(all(&Endpoint::is_link_local,
                    {"169.254.0.0:1", "169.254.255.255:1", "[fe80::]:1", "[febf:ffff::1]:1"}));
    EXPECT_TRUE(none(&Endpoint::is_link_local,
                     {"169.253.255.255:1", "169.255.0.0:1", "[fe7f:ffff::1]:1", "[fec0::]:1"}));
}

TEST(Endpoint, LanIsTheUnionAndExcludesLoopbackAndPublic) {
    EXPECT_TRUE(all(&Endpoint::is_lan, {"10.1.1.1:1", "100.64.1.1:1", "[fd12::1]:1",
                                        "169.254.1.1:1", "[fe80::1]:1", "172.20.0.1:1"}));
    EXPECT_TRUE(none(&Endpoint::is_lan, {"127.0.0.1:1", "[::1]:1", "8.8.8.8:1", "[2001:db8::1]:1",
                                         "0.0.0.0:1", "224.0.0.1:1"}));
}

TEST(Endpoint, MulticastInBothFamilies) {
    EXPECT_TRUE(all(&Endpoint::is_multicast, {"224.0.0.0:1", "239.255.255.255:1", "[ff02::1]:1"}));
    EXPECT_TRUE(none(&Endpoint::is_multicast,
                     {"223.255.255.255:1", "240.0.0.0:1", "[feff::1]:1", "10.0.0.1:1"}));
}

TEST(Endpoint, UnicastExcludesUnspecifiedThisNetworkMulticastAndBroadcast) {
    EXPECT_TRUE(all(&Endpoint::is_unicast, {"1.0.0.0:1", "223.255.255.255:1", "127.0.0.1:1",
                                            "10.0.0.1:1", "[2001:db8::1]:1", "[::1]:1"}));
    EXPECT_TRUE(
        none(&Endpoint::is_unicast, {"0.0.0.0:1", "0.255.255.255:1", "224.0.0.1:1", "239.1.1.1:1",
                                     "240.0.0.0:1", "255.255.255.255:1", "[::]:1", "[ff02::1]:1"}));
}

TEST(Endpoint, EqualEndpointsHashEqual) {
    EndpointHash h;
    EXPECT_EQ(h(*Endpoint::parse("1.2.3.4:5")), h(*Endpoint::parse("[::ffff:1.2.3.4]:5")));
    EXPECT_NE(h(*Endpoint::parse("1.2.3.4:5")), h(*Endpoint::parse("1.2.3.4:6")));
}

} // namespace
} // namespace chat::proto
