// Requests and the endpoint exchange under loss, whole system: a lost join (or its ok) is
// resent and the room sees one `joined`; a lost `peer` to the target of /connect is resent by
// the server, so both sides still punch and get their direct path.
#include "sim.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace chat::sim {
namespace {

std::size_t count_joined(const std::vector<peer::ui::Joined>& joined, const std::string& room,
                         const std::string& name) {
    return static_cast<std::size_t>(
        std::count_if(joined.begin(), joined.end(),
                      [&](const peer::ui::Joined& j) { return j.room == room && j.name == name; }));
}

class ResendSim : public ::testing::Test {
  protected:
    // alice and bob online, bob already in dev.
    void SetUp() override {
        alice_node = sim.add_peer("alice", ep("203.0.113.21:4000")).node;
        sim.add_peer("bob", ep("203.0.113.22:4000"));
        sim.drive_for(1s);
        sim.command("bob", peer::cmd::Join{"dev"});
        sim.drive_for(1s);
    }
    void expect_alice_joined_dev_once() {
        EXPECT_EQ(sim.chosen_losses(), 1u);
        EXPECT_EQ(count_joined(sim.events<peer::ui::Joined>("alice"), "dev", "alice"), 1u);
        EXPECT_EQ(count_joined(sim.events<peer::ui::Joined>("bob"), "dev", "alice"), 1u);
        EXPECT_TRUE(sim.events<peer::ui::Error>("alice").empty()); // no no_answer
        EXPECT_EQ(sim.client("alice").target().name, "dev");
    }

    Sim sim;
    Net::NodeId alice_node = 0;
};

TEST_F(ResendSim, LostJoinIsResentAndTheRoomSeesOneJoined) {
    sim.drop_first(alice_node, "\"t\":\"join\"");
    sim.command("alice", peer::cmd::Join{"dev"});
    sim.drive_for(10s);
    expect_alice_joined_dev_once();
}

TEST_F(ResendSim, LostOkToAJoinIsMadeGoodByTheResend) {
    sim.drop_first(sim.server_node(), "\"t\":\"ok\"");
    sim.command("alice", peer::cmd::Join{"dev"});
    sim.drive_for(10s);
    expect_alice_joined_dev_once();
}

TEST_F(ResendSim, LostPeerToTheTargetStillGivesBothSidesADirectPath) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    Sim s;
    s.add_peer("alice", ep("10.0.0.2:4000"), &na);
    s.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    s.drive_for(1s);
    s.drop_first(s.server_node(), "\"init\":false");
    s.command("alice", peer::cmd::Connect{"bob"});
    s.drive_for(3s);
    EXPECT_EQ(s.chosen_losses(), 1u);
    const auto alice = s.events<peer::ui::PathChanged>("alice");
    const auto bob = s.events<peer::ui::PathChanged>("bob");
    ASSERT_FALSE(alice.empty());
    ASSERT_FALSE(bob.empty());
    EXPECT_EQ(alice.back().state, peer::PathState::Direct);
    EXPECT_EQ(bob.back().state, peer::PathState::Direct);
    EXPECT_EQ(s.events<peer::ui::PeerFound>("bob").size(), 1u); // the resend is no news
}

TEST(ResendSimLossy, JoinsUnderTwentyPercentLossAllSucceedAndAreAnnouncedOnce) {
    Sim sim(3);
    const std::vector<std::string> names{"alice", "bob", "carol", "dave"};
    for (std::size_t i = 0; i < names.size(); ++i)
        sim.add_peer(names[i], ep(("203.0.113.2" + std::to_string(i) + ":4000").c_str()));
    sim.drive_for(5s); // registration before the loss: this test is about the joins
    sim.net.loss = 0.2;
    for (const auto& n : names) {
        sim.command(n, peer::cmd::Join{"dev"});
        sim.drive_for(6s); // past the request deadline
    }
    for (const auto& n : names) {
        SCOPED_TRACE(n);
        EXPECT_EQ(sim.client(n).target().name, "dev");
        for (const auto& e : sim.events<peer::ui::Error>(n))
            ADD_FAILURE() << e.code << ": " << e.text;
        EXPECT_EQ(count_joined(sim.events<peer::ui::Joined>(n), "dev", n), 1u);
    }
    // Notices are sent once (a lost one is not resent), but never twice.
    for (const auto& member : names)
        for (const auto& joiner : names)
            EXPECT_LE(count_joined(sim.events<peer::ui::Joined>(member), "dev", joiner), 1u);
}

} // namespace
} // namespace chat::sim
