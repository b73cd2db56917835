// The classic plain-text client: #ping# and raw lines, no JSON, behind --allow-plaintext,
// and capped in what it can be sent because it never proved it owns its address.
#include "server_fixture.hpp"

namespace chat::rdv::testing {
namespace {

class LegacyTest : public ServerTest {
protected:
    LegacyTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.allow_plaintext = true;
        return c;
    }
};

TEST_F(ServerTest, PlaintextIsDroppedWhenTheOptionIsOff) {
    register_peer("alice", kAlice);
    const auto out = send_raw(kLegacy, "hello\n");
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(drops(proto::DropReason::PlaintextOff), 1u);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(LegacyTest, FirstPingMakesALobbyMemberNamedByItsAddressWithNoPong) {
    register_peer("alice", kAlice);
    const auto out = send_raw(kLegacy, "#ping#");
    EXPECT_TRUE(raw_to(out, kLegacy).empty());
    EXPECT_EQ(only<proto::MemberJoined>(out, kAlice).name, "192.0.2.50:5000");
    EXPECT_EQ(server_.peer_count(), 2u);
}

TEST_F(LegacyTest, LinesReachJsonPeersAsRoomMessages) {
    register_peer("alice", kAlice);
    const auto out = send_raw(kLegacy, "hi from netcat\n");
    const auto msg = only<proto::RoomMessage>(out, kAlice);
    EXPECT_EQ(msg.from, "192.0.2.50:5000");
    EXPECT_EQ(msg.room, "lobby");
    EXPECT_EQ(msg.text, "hi from netcat");
}

TEST_F(LegacyTest, LobbyMessagesReachItAsNameNewlineText) {
    const auto tok = register_peer("alice", kAlice);
    send_raw(kLegacy, "#ping#");
    const auto out = send(kAlice, proto::Say{tok, 1, "lobby", "hello legacy"});
    EXPECT_EQ(raw_to(out, kLegacy), std::vector<std::string>{"alice\nhello legacy"});
}

TEST_F(LegacyTest, OtherRoomsAndNoticesAreNotSentToIt) {
    const auto tok = register_peer("alice", kAlice);
    send_raw(kLegacy, "#ping#");
    send(kAlice, proto::Join{tok, 1, "dev"});
    const auto out = send(kAlice, proto::Say{tok, 2, "dev", "private-ish"});
    EXPECT_TRUE(raw_to(out, kLegacy).empty());
    EXPECT_TRUE(raw_to(send(kBob, proto::Hello{"bob", {}, std::nullopt}), kLegacy).empty());
}

TEST_F(LegacyTest, ItIsEvictedLikeAnyPeerAndTheLobbyIsTold) {
    register_peer("alice", kAlice);
    send_raw(kLegacy, "#ping#");
    send(kAlice, proto::Ping{}, t0_ + 9s);
    const auto out = server_.on_tick(t0_ + 10s);
    const auto left = only<proto::MemberLeft>(out, kAlice);
    EXPECT_EQ(left.name, "192.0.2.50:5000");
    EXPECT_EQ(left.reason, proto::LeaveReason::Timeout);
}

TEST_F(LegacyTest, BytesSentToAnUnverifiedAddressAreCapped) {
    const auto tok = register_peer("alice", kAlice);
    send_raw(kLegacy, "#ping#");  // a forged ping could point this stream at a victim
    std::size_t bytes = 0;
    for (int i = 0; i < 40; ++i) {  // 40 x ~500 bytes in well under a second
        const auto id = static_cast<proto::RequestId>(i + 1); // a repeated id is not relayed
        const auto out = send(kAlice, proto::Say{tok, id, "lobby", std::string(490, 'x')},
                              t0_ + Duration{i});
        for (const auto& r : raw_to(out, kLegacy)) bytes += r.size();
    }
    EXPECT_LE(bytes, 8192u + 100u);  // the burst, plus what refilled in 40 ms
    EXPECT_GT(server_.traffic().plaintext_capped, 0u);
}

TEST_F(LegacyTest, JsonHelloFromALegacyAddressUpgradesIt) {
    send_raw(kLegacy, "#ping#");
    const auto out = send(kLegacy, proto::Hello{"dave", {}, std::nullopt});
    EXPECT_EQ(only<proto::Welcome>(out, kLegacy).name, "dave");
    EXPECT_EQ(server_.peer_count(), 1u);
}

class FewLegacyTest : public ServerTest {
protected:
    FewLegacyTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.allow_plaintext = true;
        c.max_plaintext_clients = 2;
        return c;
    }
};

TEST_F(FewLegacyTest, PlaintextClientsAreBounded) {
    send_raw(ep("192.0.2.1:1"), "#ping#");
    send_raw(ep("192.0.2.2:1"), "#ping#");
    send_raw(ep("192.0.2.3:1"), "#ping#");
    EXPECT_EQ(server_.peer_count(), 2u);
    EXPECT_EQ(drops(proto::DropReason::TableFull), 1u);
}

} // namespace
} // namespace chat::rdv::testing
