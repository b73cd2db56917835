// Requests to the rendezvous (join, leave, create, lists, rejoin) are resent, with the same
// id, at the RTO until answered or their 5 s deadline: under loss the server's answer, or the
// request itself, may be lost, and the user must not see no_answer for a join that happened.
// The server answers a repeat as it answered the first (PROTOCOL.md, "Requests are resent").
#include "client_fixture.hpp"

namespace chat::peer::testing {
namespace {

class ClientResendTest : public ClientTest {
  protected:
    void SetUp() override { register_now(); }
};

TEST_F(ClientResendTest, JoinWhoseFirstDatagramIsLostIsResentAndJoinedOnce) {
    const auto first = command(cmd::Join{"dev"}); // lost on the way
    const auto id = id_of<proto::Join>(first);
    const auto resent = run_until(now_ + 1s, /*answer_pings=*/true); // no RTT yet: RTO 1 s
    const auto joins = sent_as<proto::Join>(resent);
    ASSERT_EQ(joins.size(), 1u);
    EXPECT_EQ(joins[0].id, id);
    EXPECT_EQ(joins[0].room, "dev");
    const auto ok = from_server(proto::Ok{id, {}});
    ASSERT_EQ(events_as<ui::Joined>(ok).size(), 1u);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "dev"}));
    const auto after = run_until(now_ + 10s, true);
    EXPECT_TRUE(sent_as<proto::Join>(after).empty());
    EXPECT_TRUE(events_as<ui::Error>(after).empty()); // no no_answer
}

TEST_F(ClientResendTest, AnOkToTheFirstCopyAndOneToTheResendJoinOnce) {
    const auto id = id_of<proto::Join>(command(cmd::Join{"dev"}));
    run_until(now_ + 1s, true); // resent: the first ok was only late
    EXPECT_EQ(events_as<ui::Joined>(from_server(proto::Ok{id, {}})).size(), 1u);
    const auto second = from_server(proto::Ok{id, {}});
    EXPECT_TRUE(second.events.empty());
}

TEST_F(ClientResendTest, ResendsFollowTheRtoAndStopWithOneNoAnswerAtTheDeadline) {
    command(cmd::Join{"dev"});
    EXPECT_TRUE(sent_as<proto::Join>(run_until(now_ + 999ms, true)).empty());
    const auto out = run_until(now_ + 4001ms, true); // to 5 s
    EXPECT_EQ(sent_as<proto::Join>(out).size(), 4u); // at 1, 2, 3 and 4 s: doubling, capped
    const auto errors = events_as<ui::Error>(out);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, "no_answer");
    EXPECT_TRUE(sent_as<proto::Join>(run_until(now_ + 10s, true)).empty());
}

TEST_F(ClientResendTest, AMeasuredRoundTripMakesTheFirstResendSooner) {
    run_until(now_ + 5s, /*answer_pings=*/true); // a ping and its pong: RTT 0, RTO 200 ms
    command(cmd::Join{"dev"});
    EXPECT_TRUE(sent_as<proto::Join>(run_until(now_ + 199ms)).empty());
    EXPECT_EQ(sent_as<proto::Join>(run_until(now_ + 1ms)).size(), 1u);
}

TEST_F(ClientResendTest, LeaveResentAfterALostOkCountsAsLeftWhenToldNotInRoom) {
    from_server(proto::Ok{id_of<proto::Join>(command(cmd::Join{"dev"})), {}});
    const auto id = id_of<proto::Leave>(command(cmd::Leave{"dev"})); // done; the ok is lost
    EXPECT_EQ(sent_as<proto::Leave>(run_until(now_ + 1s, true)).size(), 1u);
    const auto answer =
        from_server(proto::Error{id, proto::ErrorCode::NotInRoom, "you are not in room dev"});
    EXPECT_TRUE(events_as<ui::Error>(answer).empty());
    ASSERT_EQ(events_as<ui::Left>(answer).size(), 1u);
    EXPECT_EQ(client_.rooms(), std::set<std::string>{"lobby"});
    EXPECT_EQ(client_.target().name, "lobby");
}

TEST_F(ClientResendTest, CreateIsResentWithTheSameId) {
    const auto id = id_of<proto::CreateRoom>(command(cmd::Create{"team", {"bob"}}));
    const auto resent = sent_as<proto::CreateRoom>(run_until(now_ + 1s, true));
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].id, id);
    EXPECT_EQ(resent[0].members, std::vector<std::string>{"bob"});
}

TEST_F(ClientResendTest, RejoinAfterANewSessionIsResentUntilAnswered) {
    from_server(proto::Ok{id_of<proto::Join>(command(cmd::Join{"dev"})), {}});
    run_until(now_ + 15s); // the server died: no pongs
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken2, 5s, 10s});
    const auto id = id_of<proto::Join>(back); // lost
    const auto resent = sent_as<proto::Join>(run_until(now_ + 1s, true));
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].id, id);
    EXPECT_EQ(resent[0].token, kToken2);
    from_server(proto::Ok{id, {}});
    EXPECT_EQ(client_.rooms(), (std::set<std::string>{"dev", "lobby"}));
    EXPECT_TRUE(sent_as<proto::Join>(run_until(now_ + 10s, true)).empty());
}

} // namespace
} // namespace chat::peer::testing
