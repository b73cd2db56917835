// The rendezvous core and several peer cores together on an in-memory network with NATs,
// on a fake clock that hops from wake-up to wake-up (no sleeps, no sockets). Each test is a
// whole-system scenario: chat through the server, a direct path through cone NATs, relay
// through symmetric ones, a server restart, a peer that vanishes.
#include "sim.hpp"

#include <gtest/gtest.h>

namespace chat::sim {
namespace {

std::vector<std::string> texts(const std::vector<peer::ui::Message>& msgs) {
    std::vector<std::string> v;
    for (const auto& m : msgs)
        if (!m.self)
            v.push_back(m.from + ":" + m.text);
    return v;
}

TEST(Sim, ThreePeersBehindNatsChatInTheLobbyAndInACreatedRoom) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, true);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.add_peer("carol", ep("203.0.113.50:5000"));
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Say{"hello lobby"});
    sim.command("bob", peer::cmd::Create{"team", {"alice"}});
    sim.drive_for(1s);
    sim.command("bob", peer::cmd::Say{"team only"});
    sim.drive_for(1s);
    EXPECT_EQ(texts(sim.events<peer::ui::Message>("carol")),
              std::vector<std::string>{"alice:hello lobby"});
    EXPECT_EQ(texts(sim.events<peer::ui::Message>("alice")),
              std::vector<std::string>{"bob:team only"});
}

TEST(Sim, ConeNatsGetADirectPathAndChatBypassesTheServer) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.drive_for(2s);
    ASSERT_FALSE(sim.events<peer::ui::PathChanged>("alice").empty());
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("alice").back().state, peer::PathState::Direct);
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("bob").back().state, peer::PathState::Direct);
    sim.watch_server_for("secret words");
    sim.command("alice", peer::cmd::Say{"secret words"});
    sim.drive_for(1s);
    const auto dms = sim.events<peer::ui::Direct>("bob");
    ASSERT_EQ(dms.size(), 1u);
    EXPECT_FALSE(dms[0].relayed);
    EXPECT_EQ(sim.datagrams_to_server_with("secret words"), 0u);
}

TEST(Sim, DirectPathSurvivesTheServerGoingAway) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.command("bob", peer::cmd::Connect{"alice"});
    sim.drive_for(2s);
    sim.stop_server();
    sim.drive_for(30s); // both notice the server is gone and keep trying to come back
    ASSERT_EQ(sim.client("alice").state(), peer::ConnectionState::Reconnecting);
    sim.command("alice", peer::cmd::Say{"still talking"});
    sim.command("bob", peer::cmd::Say{"me too"});
    sim.drive_for(1s);
    ASSERT_FALSE(sim.events<peer::ui::Direct>("bob").empty());
    EXPECT_EQ(sim.events<peer::ui::Direct>("bob").back().text, "still talking");
    EXPECT_EQ(sim.events<peer::ui::Direct>("alice").back().text, "me too");
}

TEST(Sim, SymmetricNatsStayRelayedAndMessagesStillArrive) {
    Nat na({198, 51, 100, 1}, true), nb({198, 51, 100, 2}, true);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.drive_for(100ms); // the exchange is back: bob is the target, punching has begun
    sim.command("alice", peer::cmd::Say{"typed while punching"});
    sim.drive_for(6s);
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("alice").back().state, peer::PathState::Relayed);
    sim.command("alice", peer::cmd::Say{"typed after"});
    sim.drive_for(1s);
    const auto dms = sim.events<peer::ui::Direct>("bob");
    ASSERT_EQ(dms.size(), 2u);
    EXPECT_EQ(dms[0].text, "typed while punching");
    EXPECT_TRUE(dms[1].relayed);
}

TEST(Sim, PeersBehindOneNatWithoutHairpinTalkOverTheLan) {
    Nat na({198, 51, 100, 1}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("alice2", ep("10.0.0.3:4000"), &na);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"alice2"});
    sim.drive_for(2s);
    const auto paths = sim.events<peer::ui::PathChanged>("alice");
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths.back().state, peer::PathState::Direct);
    EXPECT_EQ(paths.back().via, ep("10.0.0.3:4000"));
}

TEST(Sim, ServerRestartPeersComeBackRejoinAndKeepChatting) {
    Sim sim;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Join{"dev"});
    sim.command("bob", peer::cmd::Join{"dev"});
    sim.drive_for(1s);
    sim.stop_server();
    sim.drive_for(3s);
    sim.start_server(); // a fresh process: no sessions, no rooms
    sim.drive_for(40s);
    EXPECT_EQ(sim.client("alice").state(), peer::ConnectionState::Online);
    EXPECT_EQ(sim.server()->peer_count(), 2u);
    sim.command("alice", peer::cmd::Say{"after the restart"});
    sim.drive_for(1s);
    const auto msgs = sim.events<peer::ui::Message>("bob");
    ASSERT_FALSE(msgs.empty());
    EXPECT_EQ(msgs.back().room, "dev");
    EXPECT_EQ(msgs.back().text, "after the restart");
}

TEST(Sim, APeerThatVanishesIsReportedTimedOutAfterTenSeconds) {
    Sim sim;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(1s);
    sim.stop_peer("bob");
    sim.drive_for(9s);
    EXPECT_TRUE(sim.events<peer::ui::Left>("alice").empty());
    sim.drive_for(6s);
    const auto left = sim.events<peer::ui::Left>("alice");
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].name, "bob");
    EXPECT_EQ(left[0].reason, proto::LeaveReason::Timeout);
}

TEST(Sim, RegistrationAndChatSurviveTenPercentLoss) {
    Sim sim(7);
    sim.net.loss = 0.1;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(3s);
    EXPECT_EQ(sim.client("alice").state(), peer::ConnectionState::Online);
    EXPECT_EQ(sim.client("bob").state(), peer::ConnectionState::Online);
    sim.drive_for(120s); // two minutes of heartbeats with 10% loss: nobody is evicted
    EXPECT_EQ(sim.server()->peer_count(), 2u);
    EXPECT_TRUE(sim.events<peer::ui::Left>("alice").empty());
}

} // namespace
} // namespace chat::sim
