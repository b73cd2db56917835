// The client against connect spam: other peers' endpoint exchanges are bounded per name
// and overall, probes go only to sensible candidates and within one budget, the path table
// stays bounded, and what is ignored is said once. Fake clock; the test plays the server.
#include "client_fixture.hpp"

#include <map>

namespace chat::peer::testing {
namespace {

std::string nonce_number(int i) {
    std::string n = std::to_string(i);
    return std::string(32 - n.size(), 'e') + n;
}

class ClientP2pLimitsTest : public ClientTest {
  protected:
    void SetUp() override { register_now(); }

    // The rendezvous tells us `name` connected to us, as it would after their /connect.
    Outbox exchange_from(const std::string& name, const Endpoint& pub, std::vector<Endpoint> priv,
                         int i) {
        return from_server(proto::PeerInfo{name, pub, std::move(priv), nonce_number(i), false,
                                           static_cast<proto::DeliveryId>(i)});
    }
    // Datagrams to anyone but the server, by destination.
    static void count_to_peers(const Outbox& out, std::map<Endpoint, int>& sent) {
        for (const auto& d : out.datagrams)
            if (d.to != kServer)
                ++sent[d.to];
    }
    static int total(const std::map<Endpoint, int>& sent) {
        int n = 0;
        for (const auto& [to, count] : sent)
            n += count;
        return n;
    }
    static int ignored_notices(const Outbox& out) {
        int n = 0;
        for (const auto& e : events_as<ui::Error>(out))
            n += e.code == "exchange_ignored" ? 1 : 0;
        return n;
    }
};

const Endpoint kMallory = ep("198.51.100.66:5000");
const std::vector<Endpoint> kVictims = {ep("8.8.8.8:53"), ep("1.1.1.1:53"), ep("9.9.9.9:53"),
                                        ep("192.168.1.1:80")};

TEST_F(ClientP2pLimitsTest, ConnectSpamFromOneNameSendsAFewHundredProbesAtMost) {
    std::map<Endpoint, int> sent;
    int notices = 0;
    for (int i = 1; i <= 40; ++i) { // 40 connects, 100 ms apart
        const auto out = exchange_from("mallory", kMallory, kVictims, i);
        count_to_peers(out, sent);
        notices += ignored_notices(out);
        const auto later = run_until(now_ + 100ms, /*answer_pings=*/true);
        count_to_peers(later, sent);
        notices += ignored_notices(later);
    }
    count_to_peers(run_until(now_ + 30s, /*answer_pings=*/true), sent);
    // Five exchanges in 20 s, 50 probes each: at most 250, and none to the public addresses
    // given as private ones.
    EXPECT_LE(total(sent), 250);
    for (int v = 0; v < 3; ++v)
        EXPECT_EQ(sent.count(kVictims[static_cast<std::size_t>(v)]), 0u)
            << kVictims[static_cast<std::size_t>(v)].to_string();
    EXPECT_EQ(client_.p2p_drops().exchanges_ignored, 35u);
    EXPECT_EQ(notices, 1);
}

TEST_F(ClientP2pLimitsTest, ANinthPunchAtOnceIsIgnoredButOurOwnConnectIsNot) {
    for (int i = 1; i <= 9; ++i)
        exchange_from("m" + std::to_string(i),
                      Endpoint::v4({198, 51, 100, 1}, static_cast<std::uint16_t>(5000 + i)), {}, i);
    EXPECT_EQ(client_.path_count(), 8u);
    EXPECT_EQ(client_.p2p_drops().exchanges_ignored, 1u);
    command(cmd::Connect{"bob"});
    from_server(proto::PeerInfo{"bob", ep("203.0.113.20:40001"), {}, nonce_number(99), true});
    EXPECT_EQ(client_.path_count(), 9u);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Direct, "bob"}));
}

TEST_F(ClientP2pLimitsTest, ThreeHundredNamesKeepThePathTableAndTheScreenBounded) {
    std::size_t most_paths = 0;
    std::size_t lines = 0;
    for (int i = 1; i <= 300; ++i) { // one every 200 ms: a new name each time
        auto out =
            exchange_from("n" + std::to_string(i),
                          Endpoint::v4({198, 51, 100, 2}, static_cast<std::uint16_t>(i)), {}, i);
        lines += out.events.size();
        lines += run_until(now_ + 200ms, /*answer_pings=*/true).events.size();
        most_paths = std::max(most_paths, client_.path_count());
    }
    EXPECT_LE(most_paths, 64u);
    // Each exchange admitted shows "connected to you", "punching", "no direct path": at
    // most 8 punch at once for 5 s each, so 60 s admit at most 8 * 60 / 5 = 96 of them.
    EXPECT_LE(lines, 3u * 96u + 1u);
    EXPECT_GT(client_.p2p_drops().exchanges_ignored, 0u);
}

TEST_F(ClientP2pLimitsTest, AllPathsTogetherSendAtMostFiftyProbesASecondAfterABurst) {
    std::map<Endpoint, int> sent;
    for (int i = 1; i <= 8; ++i) // each with four LAN candidates: 8 * 5 * 5 = 200 probes/s
        count_to_peers(
            exchange_from("m" + std::to_string(i),
                          Endpoint::v4({198, 51, 100, 3}, static_cast<std::uint16_t>(5000 + i)),
                          {Endpoint::v4({10, 0, static_cast<std::uint8_t>(i), 1}, 1),
                           Endpoint::v4({10, 0, static_cast<std::uint8_t>(i), 2}, 1),
                           Endpoint::v4({10, 0, static_cast<std::uint8_t>(i), 3}, 1),
                           Endpoint::v4({10, 0, static_cast<std::uint8_t>(i), 4}, 1)},
                          i),
            sent);
    count_to_peers(run_until(now_ + 2s), sent);
    EXPECT_LE(total(sent), 50 + 2 * 50); // the burst, then 50 per second
    EXPECT_GE(total(sent), 100);         // the budget is spent, not starved
    EXPECT_GT(client_.p2p_drops().probes_over_budget, 0u);
}

TEST_F(ClientP2pLimitsTest, AnUnstampedDirectTextIsShownOnceAndAckedEachTime) {
    const std::string nonce = nonce_number(1);
    exchange_from("bob", kMallory, {}, 1);
    const proto::PeerText text{"bob", nonce, 7, "hi alice"}; // no stamp: an older client
    const auto first = client_.on_datagram(kMallory, proto::encode(text), now_);
    const auto again = client_.on_datagram(kMallory, proto::encode(text), now_ + 300ms);
    EXPECT_EQ(events_as<ui::Direct>(first).size(), 1u);
    EXPECT_TRUE(events_as<ui::Direct>(again).empty());
    int acks = 0;
    for (const auto* out : {&first, &again})
        for (const auto& d : out->datagrams)
            acks += d.to == kMallory && d.bytes.find("p2p_ack") != std::string::npos ? 1 : 0;
    EXPECT_EQ(acks, 2);
    EXPECT_EQ(client_.p2p_drops().texts_repeated, 1u);
}

TEST_F(ClientP2pLimitsTest, LoopbackCandidatesAreNotProbedWhenTheServerIsRemote) {
    std::map<Endpoint, int> sent;
    count_to_peers(exchange_from("bob", ep("203.0.113.20:40001"), {ep("127.0.0.1:631")}, 1), sent);
    count_to_peers(run_until(now_ + 6s), sent);
    EXPECT_EQ(sent.count(ep("127.0.0.1:631")), 0u);
    EXPECT_GT(sent.count(ep("203.0.113.20:40001")), 0u);
}

} // namespace
} // namespace chat::peer::testing
