// Liveness: a silent peer is evicted at its deadline (timeout after it was last heard),
// not before, and every room it was in is told it timed out.
#include "server_fixture.hpp"

namespace chat::rdv::testing {
namespace {

TEST_F(ServerTest, SilentPeerIsAliveAtNinePointNineSecondsAndEvictedByTenPointFive) {
    register_peer("alice", kAlice);
    register_peer("bob", kBob);
    send(kAlice, proto::Ping{}, t0_ + 9s);  // alice keeps talking; bob is silent
    EXPECT_TRUE(server_.on_tick(t0_ + 9900ms).empty());
    EXPECT_EQ(server_.peer_count(), 2u);
    const auto out = server_.on_tick(t0_ + 10500ms);
    EXPECT_EQ(server_.peer_count(), 1u);
    const auto left = only<proto::MemberLeft>(out, kAlice);
    EXPECT_EQ(left.name, "bob");
    EXPECT_EQ(left.room, "lobby");
    EXPECT_EQ(left.reason, proto::LeaveReason::Timeout);
    EXPECT_TRUE(log_.contains("evicted name=bob idle=10.5s rooms=lobby"));
}

TEST_F(ServerTest, NextWakeupIsExactlyTheEarliestDeadline) {
    EXPECT_EQ(server_.next_wakeup(), std::nullopt);
    register_peer("alice", kAlice);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 10s);
    server_.on_tick(t0_ + 9999ms);
    EXPECT_EQ(server_.peer_count(), 1u);
    server_.on_tick(t0_ + 10s);
    EXPECT_EQ(server_.peer_count(), 0u);
}

TEST_F(ServerTest, HeartbeatPushesTheDeadlineBack) {
    register_peer("alice", kAlice);
    send(kAlice, proto::Ping{}, t0_ + 5s);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 15s);
    server_.on_tick(t0_ + 14s);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, AnyValidRequestRefreshesLikeAHeartbeat) {
    const auto tok = register_peer("alice", kAlice);
    send(kAlice, proto::ListRooms{tok, 1, 0}, t0_ + 8s);
    EXPECT_EQ(server_.next_wakeup(), t0_ + 18s);
}

TEST_F(ServerTest, WrongTokenDoesNotKeepAPeerAlive) {
    register_peer("alice", kAlice);
    send(kAlice, proto::ListRooms{proto::Token(32, 'f'), 1, 0}, t0_ + 8s);
    server_.on_tick(t0_ + 10s);
    EXPECT_EQ(server_.peer_count(), 0u);
}

TEST_F(ServerTest, EvictionTellsEveryRoomThePeerWasIn) {
    const auto bob_tok = register_peer("bob", kBob);
    register_peer("alice", kAlice);
    const auto carol_tok = register_peer("carol", kCarol);
    send(kBob, proto::Join{bob_tok, 1, "dev"}, t0_);
    send(kCarol, proto::Join{carol_tok, 1, "dev"}, t0_);
    send(kCarol, proto::Leave{carol_tok, 2, "lobby"}, t0_);
    send(kAlice, proto::Ping{}, t0_ + 9s);
    send(kCarol, proto::Ping{}, t0_ + 9s);
    const auto out = server_.on_tick(t0_ + 10s);
    EXPECT_EQ(only<proto::MemberLeft>(out, kAlice).room, "lobby");
    EXPECT_EQ(only<proto::MemberLeft>(out, kCarol).room, "dev");
}

TEST_F(ServerTest, EarlyTickChangesNothing) {
    register_peer("alice", kAlice);
    for (int ms = 0; ms < 10000; ms += 500) server_.on_tick(t0_ + Duration{ms});
    EXPECT_EQ(server_.peer_count(), 1u);
}

class ShortTimeoutTest : public ServerTest {
protected:
    ShortTimeoutTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.timeout = 3s;
        return c;
    }
};

TEST_F(ShortTimeoutTest, ConfiguredTimeoutIsUsedAndHalfOfItIsTheHeartbeat) {
    const auto out = send(kAlice, proto::Hello{"alice", {}, std::nullopt});
    const auto w = only<proto::Welcome>(out, kAlice);
    EXPECT_EQ(w.timeout, 3s);
    EXPECT_EQ(w.heartbeat, 1500ms);
    server_.on_tick(t0_ + 3s);
    EXPECT_EQ(server_.peer_count(), 0u);
}

} // namespace
} // namespace chat::rdv::testing
