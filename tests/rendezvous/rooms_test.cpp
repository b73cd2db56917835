// Rooms: join/leave with notices, listings with counts and pages, create with members,
// and relay of room messages to every other member.
#include "server_fixture.hpp"

namespace chat::rdv::testing {
namespace {

using proto::ErrorCode;

class RoomsTest : public ServerTest {
  protected:
    void SetUp() override {
        register_peer("alice", kAlice);
        register_peer("bob", kBob);
        register_peer("carol", kCarol);
    }
};

TEST_F(RoomsTest, JoinCreatesTheRoomAndTellsExistingMembers) {
    const auto j1 = send(kAlice, proto::Join{token("alice"), 1, "dev"});
    EXPECT_EQ(only<proto::Ok>(j1, kAlice).id, 1u);
    const auto j2 = send(kBob, proto::Join{token("bob"), 2, "dev"});
    const auto joined = only<proto::MemberJoined>(j2, kAlice);
    EXPECT_EQ(joined.room, "dev");
    EXPECT_EQ(joined.name, "bob");
    EXPECT_TRUE(sent_to(j2, kCarol).empty());
    EXPECT_EQ(server_.room_count(), 2u);
}

TEST_F(RoomsTest, JoiningTwiceIsHarmless) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto again = send(kAlice, proto::Join{token("alice"), 2, "dev"});
    EXPECT_EQ(only<proto::Ok>(again, kAlice).id, 2u);
    EXPECT_EQ(again.size(), 1u);
}

TEST_F(RoomsTest, ResentJoinIsAnsweredAgainAndTellsTheOtherMembersOnce) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto first = send(kBob, proto::Join{token("bob"), 4, "dev"});
    EXPECT_EQ(of_type<proto::MemberJoined>(sent_to(first, kAlice)).size(), 1u);
    const auto again = send(kBob, proto::Join{token("bob"), 4, "dev"}); // its ok was lost
    EXPECT_EQ(only<proto::Ok>(again, kBob).id, 4u);
    EXPECT_TRUE(sent_to(again, kAlice).empty());
}

TEST_F(RoomsTest, LeaveTellsTheOthersAndEmptyRoomDisappears) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    send(kBob, proto::Join{token("bob"), 1, "dev"});
    const auto out = send(kBob, proto::Leave{token("bob"), 2, "dev"});
    EXPECT_EQ(only<proto::MemberLeft>(out, kAlice).reason, proto::LeaveReason::Left);
    send(kAlice, proto::Leave{token("alice"), 3, "dev"});
    EXPECT_EQ(server_.room_count(), 1u); // only the lobby is left
}

TEST_F(RoomsTest, LeavingARoomYouAreNotInIsAnError) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    EXPECT_EQ(only<proto::Error>(send(kBob, proto::Leave{token("bob"), 2, "dev"}), kBob).code,
              ErrorCode::NotInRoom);
    EXPECT_EQ(only<proto::Error>(send(kBob, proto::Leave{token("bob"), 3, "nope"}), kBob).code,
              ErrorCode::NoSuchRoom);
}

TEST_F(RoomsTest, LobbySurvivesEveryoneLeavingIt) {
    for (const char* who : {"alice", "bob", "carol"})
        send(who == std::string("alice") ? kAlice
             : who == std::string("bob") ? kBob
                                         : kCarol,
             proto::Leave{token(who), 1, "lobby"});
    EXPECT_EQ(server_.room_count(), 1u);
}

TEST_F(RoomsTest, RoomListShowsMemberCounts) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto list = only<proto::RoomList>(send(kBob, proto::ListRooms{token("bob"), 7, 0}), kBob);
    EXPECT_EQ(list.id, 7u);
    EXPECT_EQ(list.rooms, (std::vector<proto::RoomInfo>{{"dev", 1}, {"lobby", 3}}));
    EXPECT_EQ(list.total, 2u);
    EXPECT_FALSE(list.next.has_value());
}

TEST_F(RoomsTest, UserListOfEveryoneAndOfOneRoom) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto all =
        only<proto::UserList>(send(kBob, proto::ListUsers{token("bob"), 1, {}, 0}), kBob);
    EXPECT_EQ(all.users, (std::vector<std::string>{"alice", "bob", "carol"}));
    const auto dev =
        only<proto::UserList>(send(kBob, proto::ListUsers{token("bob"), 2, "dev", 0}), kBob);
    EXPECT_EQ(dev.users, std::vector<std::string>{"alice"});
    EXPECT_EQ(dev.room, "dev");
    const auto none = send(kBob, proto::ListUsers{token("bob"), 3, "nope", 0});
    EXPECT_EQ(only<proto::Error>(none, kBob).code, ErrorCode::NoSuchRoom);
}

TEST_F(RoomsTest, SayIsRelayedToEveryOtherMemberAndAckedToTheSender) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    send(kBob, proto::Join{token("bob"), 1, "dev"});
    const auto out = send(kAlice, proto::Say{token("alice"), 5, "dev", "ship it 🚀"});
    const auto msg = only<proto::RoomMessage>(out, kBob);
    EXPECT_EQ(msg.room, "dev");
    EXPECT_EQ(msg.from, "alice");
    EXPECT_EQ(msg.text, "ship it 🚀");
    EXPECT_EQ(only<proto::Ok>(out, kAlice).id, 5u);
    EXPECT_TRUE(of_type<proto::RoomMessage>(sent_to(out, kAlice)).empty());
    EXPECT_TRUE(sent_to(out, kCarol).empty());
}

TEST_F(RoomsTest, SayInARoomYouAreNotInIsAnError) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto out = send(kBob, proto::Say{token("bob"), 2, "dev", "let me in"});
    EXPECT_EQ(only<proto::Error>(out, kBob).code, ErrorCode::NotInRoom);
    EXPECT_TRUE(sent_to(out, kAlice).empty());
}

TEST_F(RoomsTest, CreateAddsOnlineMembersTellsThemAndReportsUnknownNames) {
    const auto out =
        send(kAlice, proto::CreateRoom{token("alice"), 3, "team", {"bob", "carol", "zed"}});
    const auto ok = only<proto::Ok>(out, kAlice);
    EXPECT_EQ(ok.unknown, std::vector<std::string>{"zed"});
    const auto to_bob = of_type<proto::MemberJoined>(sent_to(out, kBob));
    ASSERT_EQ(to_bob.size(), 2u);
    EXPECT_EQ(to_bob[0].name, "bob");
    EXPECT_EQ(to_bob[0].by, "alice");
    EXPECT_EQ(to_bob[1].name, "carol");
    const auto users =
        only<proto::UserList>(send(kCarol, proto::ListUsers{token("carol"), 4, "team", 0}), kCarol);
    EXPECT_EQ(users.users, (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST_F(RoomsTest, CreatingAnExistingRoomIsAnError) {
    send(kAlice, proto::Join{token("alice"), 1, "dev"});
    const auto out = send(kBob, proto::CreateRoom{token("bob"), 2, "dev", {}});
    EXPECT_EQ(only<proto::Error>(out, kBob).code, ErrorCode::RoomExists);
}

TEST_F(RoomsTest, ResentCreateGetsTheSameOkAndTellsNobodyAgain) {
    const auto first = send(kAlice, proto::CreateRoom{token("alice"), 3, "team", {"bob", "zed"}});
    EXPECT_EQ(of_type<proto::MemberJoined>(sent_to(first, kBob)).size(), 1u);
    const auto again = send(kAlice, proto::CreateRoom{token("alice"), 3, "team", {"bob", "zed"}});
    const auto ok = only<proto::Ok>(again, kAlice);
    EXPECT_EQ(ok.id, 3u);
    EXPECT_EQ(ok.unknown, std::vector<std::string>{"zed"});
    EXPECT_TRUE(sent_to(again, kBob).empty());
}

TEST_F(RoomsTest, CreatingYourOwnRoomAgainWithANewIdIsAnError) {
    send(kAlice, proto::CreateRoom{token("alice"), 3, "team", {}});
    const auto out = send(kAlice, proto::CreateRoom{token("alice"), 4, "team", {}});
    EXPECT_EQ(only<proto::Error>(out, kAlice).code, ErrorCode::RoomExists);
}

TEST_F(ServerTest, LongRoomListIsPagedAndEveryPageFitsADatagram) {
    const auto tok = register_peer("alice", kAlice);
    for (int i = 0; i < 31; ++i) {
        std::string room = std::string(28, 'r') + std::to_string(1000 + i);
        send(kAlice, proto::Join{tok, 1, room});
    }
    std::vector<std::string> seen;
    std::uint32_t offset = 0;
    for (int page = 0; page < 10; ++page) {
        const auto out = send(kAlice, proto::ListRooms{tok, 1, offset});
        ASSERT_EQ(out.size(), 1u);
        EXPECT_LE(out[0].bytes.size(), proto::kMaxDatagram);
        const auto list = only<proto::RoomList>(out, kAlice);
        for (const auto& r : list.rooms)
            seen.push_back(r.name);
        if (!list.next)
            break;
        offset = *list.next;
    }
    EXPECT_EQ(seen.size(), 32u); // 31 rooms and the lobby, each once
}

class QuietRoomTest : public ServerTest {
  protected:
    QuietRoomTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.announce_up_to = 2;
        return c;
    }
};

TEST_F(QuietRoomTest, RoomsOverTheNoticeLimitGetNoJoinOrLeaveNotices) {
    register_peer("alice", kAlice);
    const auto second = send(kBob, proto::Hello{"bob", {}, std::nullopt});
    EXPECT_EQ(of_type<proto::MemberJoined>(sent_to(second, kAlice)).size(), 1u); // 2 members
    const auto third = send(kCarol, proto::Hello{"carol", {}, std::nullopt});
    EXPECT_TRUE(of_type<proto::MemberJoined>(sent_to(third, kAlice)).empty()); // 3 > 2
    EXPECT_EQ(server_.traffic().notices_skipped, 1u);
    // Chat itself still reaches everyone.
    const auto said = send(kAlice, proto::Say{token("alice"), 1, "lobby", "hi all"});
    EXPECT_EQ(of_type<proto::RoomMessage>(sent_to(said, kCarol)).size(), 1u);
}

class RoomLimitTest : public ServerTest {
  protected:
    RoomLimitTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.max_rooms = 3;
        c.max_room_members = 2;
        c.max_rooms_per_peer = 3;
        return c;
    }
};

TEST_F(RoomLimitTest, RoomAndMembershipLimitsAreEnforcedWithClearErrors) {
    const auto a = register_peer("alice", kAlice);
    const auto b = register_peer("bob", kBob);
    const auto c = register_peer("carol", kCarol); // lobby is now over 2, but always open
    send(kAlice, proto::Join{a, 1, "one"});
    send(kBob, proto::Join{b, 1, "one"});
    EXPECT_EQ(only<proto::Error>(send(kCarol, proto::Join{c, 2, "one"}), kCarol).code,
              ErrorCode::RoomFull);
    send(kAlice, proto::Join{a, 3, "two"});
    const auto err = only<proto::Error>(send(kCarol, proto::Join{c, 4, "three"}), kCarol);
    EXPECT_EQ(err.code, ErrorCode::TooManyRooms);
    EXPECT_EQ(server_.room_count(), 3u);
}

} // namespace
} // namespace chat::rdv::testing
