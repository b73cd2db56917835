// Shares per host and per network: sessions, rooms created and rooms joined, at IPv4 /32 and
// /24 and IPv6 /64 and /48, through the server's requests and on the table itself.
#include "server_fixture.hpp"

#include "rendezvous/net_limits.hpp"

#include <string>

namespace chat::rdv::testing {
namespace {

using proto::ErrorCode;

TEST(NetLimits, CountsAtTheHostAndTheNetworkAroundIt) {
    NetCaps caps;
    caps.sessions_per_host = 2;
    caps.sessions_per_net = 3;
    NetLimits nets{caps, KeyedHash{}};
    nets.add(ep("192.0.2.1:1"), NetResource::Sessions);
    nets.add(ep("192.0.2.1:2"), NetResource::Sessions);
    EXPECT_EQ(nets.full(ep("192.0.2.1:3"), NetResource::Sessions), NetLimits::Level::Host);
    EXPECT_FALSE(nets.full(ep("192.0.2.2:1"), NetResource::Sessions)); // same /24, other host
    nets.add(ep("192.0.2.2:1"), NetResource::Sessions);
    EXPECT_EQ(nets.full(ep("192.0.2.3:1"), NetResource::Sessions), NetLimits::Level::Net);
    EXPECT_FALSE(nets.full(ep("192.0.3.1:1"), NetResource::Sessions)); // the next /24
    EXPECT_FALSE(nets.full(ep("192.0.2.1:1"), NetResource::Rooms));    // another resource
    nets.remove(ep("192.0.2.2:1"), NetResource::Sessions);
    EXPECT_FALSE(nets.full(ep("192.0.2.3:1"), NetResource::Sessions));
}

TEST(NetLimits, IPv6HostsAreSlash64AndNetworksSlash48) {
    NetCaps caps;
    caps.sessions_per_host = 1;
    caps.sessions_per_net = 2;
    NetLimits nets{caps, KeyedHash{}};
    nets.add(ep("[2001:db8:1:1::1]:1"), NetResource::Sessions);
    EXPECT_TRUE(nets.full(ep("[2001:db8:1:1::ffff]:1"), NetResource::Sessions)); // same /64
    EXPECT_FALSE(nets.full(ep("[2001:db8:1:2::1]:1"), NetResource::Sessions));   // same /48
    nets.add(ep("[2001:db8:1:2::1]:1"), NetResource::Sessions);
    EXPECT_EQ(nets.full(ep("[2001:db8:1:3::1]:1"), NetResource::Sessions), NetLimits::Level::Net);
    EXPECT_FALSE(nets.full(ep("[2001:db8:2::1]:1"), NetResource::Sessions)); // the next /48
    EXPECT_EQ(NetLimits::prefix_text(ep("[2001:db8::1]:1"), NetLimits::Level::Net), "/48");
}

TEST(NetLimits, AnEmptyNetworkIsForgotten) {
    NetLimits nets{NetCaps{}, KeyedHash{}};
    nets.add(ep("192.0.2.1:1"), NetResource::Joins, 3);
    EXPECT_EQ(nets.networks(), 2u);
    nets.remove(ep("192.0.2.1:1"), NetResource::Joins, 3);
    EXPECT_EQ(nets.networks(), 0u);
}

ServerConfig small_shares() {
    ServerConfig cfg;
    cfg.net_caps.sessions_per_host = 2;
    cfg.net_caps.sessions_per_net = 3;
    cfg.net_caps.rooms_per_host = 2;
    cfg.net_caps.rooms_per_net = 3;
    cfg.net_caps.joins_per_host = 3;
    cfg.net_caps.joins_per_net = 100;
    return cfg;
}

class NetShareTest : public ServerTest {
  protected:
    NetShareTest() : ServerTest(small_shares()) {}
    std::optional<ErrorCode> error_of(const Outbox& out, const Endpoint& to) {
        const auto errs = of_type<proto::Error>(sent_to(out, to));
        return errs.empty() ? std::nullopt : std::optional{errs.front().code};
    }
};

TEST_F(NetShareTest, AHostGetsItsShareOfSessionsAndNoMore) {
    register_peer("a1", ep("198.51.100.1:1"));
    register_peer("a2", ep("198.51.100.1:2"));
    const Endpoint third = ep("198.51.100.1:3");
    EXPECT_EQ(error_of(send(third, proto::Hello{"a3", {}, std::nullopt}), third),
              ErrorCode::NetworkLimit);
    EXPECT_EQ(server_.peer_count(), 2u);
    register_peer("b1", ep("198.51.100.2:1")); // same /24: its third session
    const Endpoint net4 = ep("198.51.100.3:1");
    EXPECT_EQ(error_of(send(net4, proto::Hello{"c1", {}, std::nullopt}), net4),
              ErrorCode::NetworkLimit);
    EXPECT_FALSE(register_peer("far", kAlice).empty()); // another network is not affected
}

TEST_F(NetShareTest, ASessionAtItsHostsShareMovesToAnotherPortOfIt) {
    // The NAT rebinding case: the host holds its whole share, one of them moves.
    const auto tok = register_peer("a1", ep("198.51.100.1:1"));
    register_peer("a2", ep("198.51.100.1:2"));
    const Endpoint moved = ep("198.51.100.1:9");
    const auto out = send(moved, proto::Hello{"a1", {}, tok});
    EXPECT_EQ(of_type<proto::Welcome>(sent_to(out, moved)).size(), 1u);
    EXPECT_FALSE(error_of(out, moved));
    const Endpoint third = ep("198.51.100.1:3"); // still full
    EXPECT_EQ(error_of(send(third, proto::Hello{"a3", {}, std::nullopt}), third),
              ErrorCode::NetworkLimit);
}

TEST_F(NetShareTest, ASessionCannotMoveIntoAFullHost) {
    register_peer("a1", ep("198.51.100.1:1"));
    register_peer("a2", ep("198.51.100.1:2"));
    const auto tok = register_peer("far", kAlice);
    const Endpoint into = ep("198.51.100.1:9");
    EXPECT_EQ(error_of(send(into, proto::Hello{"far", {}, tok}), into), ErrorCode::NetworkLimit);
    EXPECT_EQ(server_.peer_count(), 3u);
    // Still where it was, and still counted there: the move gave nothing back.
    EXPECT_EQ(raw_to(send(kAlice, proto::Ping{}), kAlice), std::vector<std::string>{proto::kPong});
}

TEST_F(NetShareTest, ASessionThatEndsGivesItsShareBack) {
    const auto tok = register_peer("a1", ep("198.51.100.1:1"));
    register_peer("a2", ep("198.51.100.1:2"));
    send(ep("198.51.100.1:1"), proto::Bye{tok});
    EXPECT_FALSE(register_peer("a3", ep("198.51.100.1:3")).empty());
}

TEST_F(NetShareTest, AHostCreatesItsShareOfRoomsAndNoMore) {
    const Endpoint a = ep("198.51.100.1:1");
    const auto tok = register_peer("a1", a);
    EXPECT_FALSE(error_of(send(a, proto::Join{tok, 1, "r1"}), a));
    EXPECT_FALSE(error_of(send(a, proto::Join{tok, 2, "r2"}), a));
    EXPECT_EQ(error_of(send(a, proto::Join{tok, 3, "r3"}), a), ErrorCode::NetworkLimit);
    EXPECT_EQ(error_of(send(a, proto::CreateRoom{tok, 4, "r4", {}}), a),
              ErrorCode::NetworkLimit);
    // Joining a room someone else made is not creating one.
    const auto btok = register_peer("bob", kBob);
    send(kBob, proto::Join{btok, 1, "theirs"});
    EXPECT_FALSE(error_of(send(a, proto::Join{tok, 5, "theirs"}), a));
    // A room that empties gives the share back.
    send(a, proto::Leave{tok, 6, "r1"});
    EXPECT_FALSE(error_of(send(a, proto::Join{tok, 7, "r3"}), a));
}

TEST_F(NetShareTest, AHostJoinsItsShareOfRoomsAndNoMore) {
    const Endpoint a = ep("198.51.100.1:1");
    const auto tok = register_peer("a1", a);
    const auto btok = register_peer("bob", kBob);
    for (const char* r : {"x1", "x2", "x3", "x4"})
        send(kBob, proto::Join{btok, 1, r});
    std::uint32_t id = 1;
    for (const char* r : {"x1", "x2", "x3"})
        EXPECT_FALSE(error_of(send(a, proto::Join{tok, id++, r}), a)) << r;
    EXPECT_EQ(error_of(send(a, proto::Join{tok, id++, "x4"}), a), ErrorCode::NetworkLimit);
    EXPECT_FALSE(error_of(send(a, proto::Join{tok, id++, "lobby"}), a)); // always
}

TEST_F(NetShareTest, OneHostCannotTakeEveryRoom) {
    // The room-exhaustion attack: many sessions on one address each making rooms.
    ServerConfig cfg;
    cfg.max_rooms = 50;
    const Endpoint base = ep("198.51.100.1:1");
    std::uint32_t made = 0;
    for (std::uint16_t port = 1; port <= 2; ++port) {
        const Endpoint from = proto::Endpoint::v4({198, 51, 100, 1}, port);
        const auto tok = register_peer("s" + std::to_string(port), from);
        for (std::uint32_t i = 0; i < 10; ++i)
            if (!error_of(send(from, proto::Join{tok, i + 1, "p" + std::to_string(port) + "r" +
                                                                  std::to_string(i)}),
                          from))
                ++made;
    }
    EXPECT_EQ(made, 2u); // the host's share, whatever the number of its sessions
    const auto btok = register_peer("bob", kBob);
    EXPECT_FALSE(error_of(send(kBob, proto::Join{btok, 1, "fresh"}), kBob));
    (void)base;
    (void)cfg;
}

} // namespace
} // namespace chat::rdv::testing
