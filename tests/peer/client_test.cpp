// The peer core against a scripted rendezvous on a fake clock: registration, start-up
// failure, heartbeats, rooms, messages, lists, losing the server and coming back.
#include "client_fixture.hpp"

#include "proto/validate.hpp"

namespace chat::peer::testing {
namespace {

// ---- Registration ----

TEST_F(ClientTest, StartSendsAPaddedHelloWithPrivateEndpoints) {
    const auto out = client_.start(now_);
    ASSERT_EQ(out.datagrams.size(), 1u);
    EXPECT_GE(out.datagrams[0].bytes.size(), proto::kMinHelloSize);
    const auto hello = sent_as<proto::Hello>(out).at(0);
    EXPECT_EQ(hello.name, "alice");
    EXPECT_EQ(hello.private_endpoints, std::vector<Endpoint>{ep("192.168.1.5:40000")});
    EXPECT_FALSE(hello.token.has_value());
    EXPECT_EQ(client_.state(), ConnectionState::Connecting);
}

TEST_F(ClientTest, WelcomeMakesItOnlineInTheLobby) {
    const auto out = register_now();
    EXPECT_EQ(client_.state(), ConnectionState::Online);
    EXPECT_EQ(client_.public_endpoint(), kPublic);
    EXPECT_EQ(client_.rooms(), std::set<std::string>{"lobby"});
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "lobby"}));
    const auto conn = events_as<ui::Connection>(out);
    ASSERT_EQ(conn.size(), 1u);
    EXPECT_EQ(conn[0].state, ConnectionState::Online);
    EXPECT_NE(conn[0].text.find(kPublic.to_string()), std::string::npos);
}

TEST_F(ClientTest, HelloIsResentEverySecondUntilWelcome) {
    client_.start(now_);
    const auto out = run_until(now_ + 4s);
    EXPECT_EQ(sent_as<proto::Hello>(out).size(), 4u); // at 1, 2, 3 and 4 s
    EXPECT_TRUE(events_as<ui::Fatal>(out).empty());
}

TEST_F(ClientTest, NoWelcomeForFiveSecondsSaysItIsStillTrying) {
    client_.start(now_);
    EXPECT_TRUE(events_as<ui::Connection>(run_until(now_ + 4999ms)).empty());
    const auto out = run_until(now_ + 1ms);
    const auto conn = events_as<ui::Connection>(out);
    ASSERT_EQ(conn.size(), 1u);
    EXPECT_EQ(conn[0].state, ConnectionState::Connecting);
    EXPECT_EQ(conn[0].text, "still trying 203.0.113.1:7777 (no answer for 5 s)...");
    EXPECT_EQ(client_.state(), ConnectionState::Connecting);
}

TEST_F(ClientTest, NoWelcomeWithinThirtySecondsIsFatalOnce) {
    client_.start(now_);
    const auto early = run_until(now_ + 29999ms);
    EXPECT_TRUE(events_as<ui::Fatal>(early).empty());
    EXPECT_EQ(sent_as<proto::Hello>(early).size(), 12u);    // and one from start()
    EXPECT_EQ(events_as<ui::Connection>(early).size(), 3u); // at 5, 15 and 25 s
    const auto out = run_until(now_ + 1ms);
    const auto fatal = events_as<ui::Fatal>(out);
    ASSERT_EQ(fatal.size(), 1u);
    EXPECT_NE(fatal[0].text.find("203.0.113.1:7777 within 30 s"), std::string::npos);
    EXPECT_FALSE(client_.next_wakeup().has_value());
    EXPECT_TRUE(run_until(now_ + 60s).events.empty());
}

TEST_F(ClientTest, NameTakenAtStartupIsFatal) {
    client_.start(now_);
    const auto out = from_server(proto::Error{std::nullopt, proto::ErrorCode::NameTaken,
                                              "name \"alice\" is taken by a live peer"});
    const auto fatal = events_as<ui::Fatal>(out);
    ASSERT_EQ(fatal.size(), 1u);
    EXPECT_NE(fatal[0].text.find("taken"), std::string::npos);
    EXPECT_FALSE(client_.next_wakeup().has_value());
}

TEST_F(ClientTest, InitialRoomIsJoinedAndTargetedAtOnce) {
    ClientConfig cfg = make_config("dev");
    Client c(cfg, rng_, log_);
    c.start(now_);
    const auto out = c.on_datagram(
        kServer, proto::encode(proto::Welcome{"alice", kPublic, kToken, 5s, 10s}), now_);
    const auto joins = sent_as<proto::Join>(out);
    ASSERT_EQ(joins.size(), 1u);
    EXPECT_EQ(joins[0].room, "dev");
    EXPECT_EQ(c.target(), (Target{Target::Kind::Room, "dev"}));
    const auto say = c.on_command(cmd::Say{"hi"}, now_);
    EXPECT_EQ(sent_as<proto::Say>(say).at(0).room, "dev");
}

// ---- Heartbeat ----

TEST_F(ClientTest, HeartbeatsComeEvery4500To5000Ms) {
    register_now();
    const Time start = now_;
    std::vector<Time> pings;
    for (int i = 0; i < 200; ++i) {
        const auto wake = client_.next_wakeup();
        ASSERT_TRUE(wake.has_value());
        now_ = *wake;
        const auto out = tick();
        for (const auto& d : out.datagrams)
            if (is_heartbeat(d.bytes)) {
                pings.push_back(now_);
                from_server(proto::Pong{});
            }
    }
    ASSERT_GE(pings.size(), 100u);
    Time prev = start;
    Duration shortest = 1h, longest{};
    for (const Time t : pings) {
        shortest = std::min(shortest, t - prev);
        longest = std::max(longest, t - prev);
        prev = t;
    }
    EXPECT_GE(shortest, 4500ms);
    EXPECT_LE(longest, 5000ms);
    EXPECT_LT(shortest, longest); // there is jitter
}

TEST_F(ClientTest, PongGivesTheRoundTripTime) {
    register_now();
    now_ = *client_.next_wakeup();
    ASSERT_TRUE(is_heartbeat(tick().datagrams.at(0).bytes));
    now_ += 40ms;
    from_server(proto::Pong{});
    EXPECT_EQ(client_.rtt(), Duration{40ms});
}

TEST_F(ClientTest, LivePeerIsNeverReportedLost) {
    register_now();
    const auto out = run_until(now_ + 10min, /*answer_pings=*/true);
    EXPECT_TRUE(events_as<ui::Connection>(out).empty());
    EXPECT_EQ(client_.state(), ConnectionState::Online);
}

// ---- Losing the server and coming back ----

TEST_F(ClientTest, NoPongForThreeIntervalsIsReportedOnceThenHelloWithToken) {
    register_now();
    const Time welcomed = now_;
    const auto quiet = run_until(welcomed + 15s - 1ms);
    EXPECT_TRUE(events_as<ui::Connection>(quiet).empty());
    EXPECT_EQ(sent_as<proto::Hello>(quiet).size(), 0u);
    const auto out = run_until(welcomed + 15s);
    const auto conn = events_as<ui::Connection>(out);
    ASSERT_EQ(conn.size(), 1u);
    EXPECT_EQ(conn[0].state, ConnectionState::Reconnecting);
    const auto hellos = sent_as<proto::Hello>(out);
    ASSERT_EQ(hellos.size(), 1u);
    EXPECT_EQ(hellos[0].token, kToken);
    EXPECT_EQ(client_.state(), ConnectionState::Reconnecting);
}

TEST_F(ClientTest, ReconnectRetriesWithBackoffForEverAndSaysNothingMore) {
    register_now();
    run_until(now_ + 15s);
    const Time lost = now_;
    std::vector<Time> hellos;
    for (int i = 0; i < 40; ++i) {
        now_ = *client_.next_wakeup();
        const auto out = tick();
        EXPECT_TRUE(out.events.empty());
        if (!sent_as<proto::Hello>(out).empty())
            hellos.push_back(now_);
    }
    ASSERT_GE(hellos.size(), 6u);
    EXPECT_LE(hellos[0] - lost, 1000ms);
    EXPECT_GE(hellos[0] - lost, 750ms);
    for (std::size_t i = 1; i < hellos.size(); ++i) {
        EXPECT_GE(hellos[i] - hellos[i - 1], 750ms);
        EXPECT_LE(hellos[i] - hellos[i - 1], 15s);
    }
    EXPECT_GE(hellos.back() - hellos[hellos.size() - 2], 11250ms); // at the 15 s cap
    EXPECT_EQ(client_.state(), ConnectionState::Reconnecting);
}

TEST_F(ClientTest, AfterServerRestartItRegistersAgainAndRejoinsItsRooms) {
    register_now();
    auto join = command(cmd::Join{"dev"});
    from_server(proto::Ok{id_of<proto::Join>(join), {}});
    join = command(cmd::Join{"rust"});
    from_server(proto::Ok{id_of<proto::Join>(join), {}});
    command(cmd::Room{"dev"});
    run_until(now_ + 15s); // the server died: no pongs

    // It comes back with a new token (it forgot us).
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken2, 5s, 10s});
    auto rejoined = sent_as<proto::Join>(back);
    std::vector<std::string> rooms;
    for (const auto& j : rejoined) {
        EXPECT_EQ(j.token, kToken2);
        rooms.push_back(j.room);
        from_server(proto::Ok{j.id, {}});
    }
    EXPECT_EQ(rooms, (std::vector<std::string>{"dev", "rust"}));
    const auto conn = events_as<ui::Connection>(back);
    ASSERT_EQ(conn.size(), 1u);
    EXPECT_EQ(conn[0].state, ConnectionState::Online);
    EXPECT_NE(conn[0].text.find("rejoined dev, rust"), std::string::npos);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "dev"}));

    // A new session: lines wait a heartbeat and a second for the others to register again.
    EXPECT_TRUE(sent_as<proto::Say>(command(cmd::Say{"still here"})).empty());
    EXPECT_TRUE(sent_as<proto::Say>(run_until(now_ + 5900ms, true)).empty());
    const auto later = run_until(now_ + 100ms, /*answer_pings=*/true);
    EXPECT_EQ(sent_as<proto::Say>(later).at(0).token, kToken2);
}

TEST_F(ClientTest, WhoAreYouFromTheServerMeansItRestarted) {
    register_now();
    const auto out = client_.on_datagram(kServer, proto::kWhoAreYou, now_);
    EXPECT_EQ(client_.state(), ConnectionState::Reconnecting);
    EXPECT_EQ(sent_as<proto::Hello>(out).size(), 1u);
}

TEST_F(ClientTest, ResumedSessionDoesNotRejoin) {
    register_now();
    auto join = command(cmd::Join{"dev"});
    from_server(proto::Ok{id_of<proto::Join>(join), {}});
    run_until(now_ + 15s);
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken, 5s, 10s});
    EXPECT_TRUE(sent_as<proto::Join>(back).empty());
    EXPECT_EQ(events_as<ui::Connection>(back).size(), 1u);
}

TEST_F(ClientTest, NoSessionErrorReconnectsAtOnceAndKeepsTheLineForTheNextSession) {
    register_now();
    const auto say = sent_as<proto::Say>(command(cmd::Say{"hello?"})).at(0);
    const auto out = from_server(proto::Error{say.id, proto::ErrorCode::NoSession, "no session"});
    EXPECT_EQ(events_as<ui::Connection>(out).size(), 1u);
    EXPECT_TRUE(events_as<ui::Error>(out).empty()); // not lost: it waits for the next session
    EXPECT_EQ(sent_as<proto::Hello>(out).at(0).token, kToken);
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken, 5s, 10s});
    const auto again = sent_as<proto::Say>(back);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].text, "hello?");
    EXPECT_EQ(again[0].stamp, say.stamp); // the same line: receivers that had it drop it
}

TEST_F(ClientTest, ShutdownFromTheServerReconnects) {
    register_now();
    const auto out = from_server(proto::Shutdown{});
    EXPECT_EQ(client_.state(), ConnectionState::Reconnecting);
    EXPECT_EQ(sent_as<proto::Hello>(out).size(), 1u);
    const auto again = from_server(proto::Shutdown{}); // said once only
    EXPECT_TRUE(again.events.empty());
}

TEST_F(ClientTest, PlainTextFromTheServerMeansTheSessionIsGone) {
    register_now();
    const auto out = client_.on_datagram(kServer, "bob\nhi", now_);
    EXPECT_EQ(client_.state(), ConnectionState::Reconnecting);
    EXPECT_EQ(sent_as<proto::Hello>(out).size(), 1u);
}

TEST_F(ClientTest, NameTakenWhileReconnectingIsSaidOnceAndRetried) {
    register_now();
    from_server(proto::Shutdown{});
    const proto::Error taken{std::nullopt, proto::ErrorCode::NameTaken, "taken"};
    EXPECT_EQ(events_as<ui::Error>(from_server(taken)).size(), 1u);
    EXPECT_TRUE(from_server(taken).events.empty());
    EXPECT_FALSE(sent_as<proto::Hello>(run_until(now_ + 5s)).empty());
}

TEST_F(ClientTest, LinesTypedWhileReconnectingAreQueuedAndSentWhenBack) {
    register_now();
    from_server(proto::Shutdown{});
    const auto out = command(cmd::Say{"hi"});
    EXPECT_TRUE(sent_as<proto::Say>(out).empty());
    EXPECT_TRUE(events_as<ui::Error>(out).empty());
    const auto echo = events_as<ui::Message>(out);
    ASSERT_EQ(echo.size(), 1u);
    EXPECT_TRUE(echo[0].queued);
    EXPECT_EQ(events_as<ui::Error>(command(cmd::Join{"dev"})).at(0).code, "offline");
    const auto back = from_server(proto::Welcome{"alice", kPublic, kToken, 5s, 10s});
    const auto says = sent_as<proto::Say>(back);
    ASSERT_EQ(says.size(), 1u);
    const auto done = events_as<ui::Delivered>(from_server(proto::Ok{says[0].id, {}}));
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].queued);
    EXPECT_EQ(done[0].room, "lobby");
}

// ---- Rooms and messages ----

TEST_F(ClientTest, PlainTextGoesToTheCurrentRoomAndIsEchoed) {
    register_now();
    const auto out = command(cmd::Say{"hi all"});
    const auto says = sent_as<proto::Say>(out);
    ASSERT_EQ(says.size(), 1u);
    EXPECT_EQ(says[0].room, "lobby");
    EXPECT_EQ(says[0].text, "hi all");
    EXPECT_EQ(says[0].token, kToken);
    ASSERT_TRUE(says[0].stamp);
    EXPECT_EQ(says[0].stamp->n, 1u);
    EXPECT_EQ(says[0].stamp->lo, 1u);
    const auto echo = events_as<ui::Message>(out);
    ASSERT_EQ(echo.size(), 1u);
    EXPECT_TRUE(echo[0].self);
    EXPECT_FALSE(echo[0].queued);
    const auto ok = from_server(proto::Ok{says[0].id, {}});
    ASSERT_EQ(ok.events.size(), 1u);
    EXPECT_FALSE(std::get<ui::Delivered>(ok.events[0]).queued); // not printed on a terminal
}

TEST_F(ClientTest, LongLineIsSplitIntoValidChunks) {
    register_now();
    std::string text;
    for (int i = 0; i < 300; ++i)
        text += "你好"; // 1800 bytes
    const auto says = sent_as<proto::Say>(command(cmd::Say{text}));
    ASSERT_EQ(says.size(), 4u);
    std::string joined;
    for (const auto& s : says) {
        EXPECT_TRUE(proto::is_valid_text(s.text));
        joined += s.text;
    }
    EXPECT_EQ(joined, text);
}

TEST_F(ClientTest, OverlongLineIsRefused) {
    register_now();
    const auto out = command(cmd::Say{std::string(16 * 500 + 1, 'x')});
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(events_as<ui::Error>(out).at(0).code, "usage");
}

TEST_F(ClientTest, JoinMakesTheRoomCurrentWhenTheServerAgrees) {
    register_now();
    const auto out = command(cmd::Join{"dev"});
    EXPECT_EQ(client_.target().name, "lobby");
    const auto ok = from_server(proto::Ok{id_of<proto::Join>(out), {}});
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "dev"}));
    EXPECT_EQ(client_.rooms(), (std::set<std::string>{"dev", "lobby"}));
    EXPECT_EQ(events_as<ui::Joined>(ok).at(0).self, true);
    EXPECT_EQ(events_as<ui::TargetChanged>(ok).size(), 1u);
}

TEST_F(ClientTest, LeavingTheCurrentRoomFallsBackToTheLobby) {
    register_now();
    auto out = command(cmd::Join{"dev"});
    from_server(proto::Ok{id_of<proto::Join>(out), {}});
    out = command(cmd::Leave{});
    EXPECT_EQ(sent_as<proto::Leave>(out).at(0).room, "dev");
    const auto ok = from_server(proto::Ok{id_of<proto::Leave>(out), {}});
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "lobby"}));
    EXPECT_EQ(events_as<ui::Left>(ok).at(0).self, true);
}

TEST_F(ClientTest, LeavingEveryRoomLeavesNoTarget) {
    register_now();
    const auto out = command(cmd::Leave{"lobby"});
    from_server(proto::Ok{id_of<proto::Leave>(out), {}});
    EXPECT_EQ(client_.target().kind, Target::Kind::None);
    const auto say = command(cmd::Say{"anyone?"});
    EXPECT_TRUE(say.datagrams.empty());
    EXPECT_EQ(events_as<ui::Error>(say).at(0).code, "no_room");
}

TEST_F(ClientTest, RoomSwitchesOnlyAmongJoinedRooms) {
    register_now();
    const auto out = command(cmd::Room{"dev"});
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(events_as<ui::Error>(out).at(0).code, "not_in_room");
    const auto join = command(cmd::Join{"dev"});
    from_server(proto::Ok{id_of<proto::Join>(join), {}});
    command(cmd::Room{"lobby"});
    EXPECT_EQ(client_.target().name, "lobby");
}

TEST_F(ClientTest, ServerErrorForARequestIsShown) {
    register_now();
    const auto out = command(cmd::Leave{"nowhere"});
    const auto err = from_server(
        proto::Error{id_of<proto::Leave>(out), proto::ErrorCode::NotInRoom, "not in nowhere"});
    EXPECT_EQ(events_as<ui::Error>(err).at(0).code, "not_in_room");
    EXPECT_EQ(client_.state(), ConnectionState::Online);
}

TEST_F(ClientTest, UnansweredRequestIsReportedAfterFiveSeconds) {
    register_now();
    command(cmd::Join{"dev"});
    const auto early = run_until(now_ + 4999ms, true);
    EXPECT_TRUE(events_as<ui::Error>(early).empty());
    const auto out = run_until(now_ + 1ms, true);
    EXPECT_EQ(events_as<ui::Error>(out).at(0).code, "no_answer");
}

TEST_F(ClientTest, IncomingRoomTrafficBecomesEvents) {
    register_now();
    auto out = from_server(proto::RoomMessage{"lobby", "bob", "hi alice"});
    const auto msg = events_as<ui::Message>(out).at(0);
    EXPECT_EQ(msg.from, "bob");
    EXPECT_FALSE(msg.self);
    out = from_server(proto::MemberJoined{"lobby", "carol", std::nullopt});
    EXPECT_EQ(events_as<ui::Joined>(out).at(0).name, "carol");
    out = from_server(proto::MemberLeft{"lobby", "bob", proto::LeaveReason::Timeout});
    EXPECT_EQ(events_as<ui::Left>(out).at(0).reason, proto::LeaveReason::Timeout);
}

TEST_F(ClientTest, BeingAddedToARoomJoinsItWithoutSwitching) {
    register_now();
    const auto out = from_server(proto::MemberJoined{"ops", "alice", "bob"});
    EXPECT_TRUE(client_.rooms().count("ops"));
    EXPECT_EQ(client_.target().name, "lobby");
    EXPECT_TRUE(events_as<ui::Joined>(out).at(0).self);
}

TEST_F(ClientTest, MsgSendsOneDmToAllRecipients) {
    register_now();
    const auto out = command(cmd::Msg{{"bob", "carol"}, "psst"});
    const auto dms = sent_as<proto::Direct>(out);
    ASSERT_EQ(dms.size(), 1u);
    EXPECT_EQ(dms[0].to, (std::vector<std::string>{"bob", "carol"}));
    EXPECT_TRUE(events_as<ui::Direct>(out).at(0).self);
    const auto ok = from_server(proto::Ok{dms[0].id, {"carol"}});
    const auto err = events_as<ui::Error>(ok);
    ASSERT_EQ(err.size(), 1u);
    EXPECT_NE(err[0].text.find("carol"), std::string::npos);
}

TEST_F(ClientTest, IncomingDmIsMarkedRelayed) {
    register_now();
    const auto out = from_server(proto::DirectMessage{"bob", {"alice", "carol"}, "hey"});
    const auto dm = events_as<ui::Direct>(out).at(0);
    EXPECT_TRUE(dm.relayed);
    EXPECT_EQ(dm.to.size(), 2u);
}

TEST_F(ClientTest, CreateJoinsTheNewRoomAndNamesWhoIsOffline) {
    register_now();
    const auto out = command(cmd::Create{"ops", {"bob", "zed"}});
    const auto create = sent_as<proto::CreateRoom>(out).at(0);
    EXPECT_EQ(create.members, (std::vector<std::string>{"bob", "zed"}));
    const auto ok = from_server(proto::Ok{create.id, {"zed"}});
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "ops"}));
    EXPECT_NE(events_as<ui::Error>(ok).at(0).text.find("zed"), std::string::npos);
}

TEST_F(ClientTest, RoomsFollowsNextPagesIntoOneList) {
    register_now();
    const auto out = command(cmd::Rooms{});
    const auto first = sent_as<proto::ListRooms>(out).at(0);
    EXPECT_EQ(first.offset, 0u);
    const auto page2 = from_server(proto::RoomList{first.id, {{"a", 1}, {"b", 2}}, 3, 2});
    EXPECT_TRUE(events_as<ui::RoomList>(page2).empty());
    const auto second = sent_as<proto::ListRooms>(page2).at(0);
    EXPECT_EQ(second.offset, 2u);
    const auto done = from_server(proto::RoomList{second.id, {{"c", 3}}, 3, std::nullopt});
    const auto list = events_as<ui::RoomList>(done).at(0);
    EXPECT_EQ(list.rooms.size(), 3u);
    EXPECT_EQ(list.total, 3u);
}

TEST_F(ClientTest, UsersInARoomKeepsTheRoomAcrossPages) {
    register_now();
    const auto out = command(cmd::Users{"dev"});
    const auto first = sent_as<proto::ListUsers>(out).at(0);
    EXPECT_EQ(first.room, "dev");
    const auto more = from_server(proto::UserList{first.id, "dev", {"alice"}, 2, 1});
    const auto second = sent_as<proto::ListUsers>(more).at(0);
    EXPECT_EQ(second.room, "dev");
    EXPECT_EQ(second.offset, 1u);
    const auto done = from_server(proto::UserList{second.id, "dev", {"bob"}, 2, std::nullopt});
    const auto list = events_as<ui::UserList>(done).at(0);
    EXPECT_EQ(list.users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(list.room, "dev");
}

TEST_F(ClientTest, ConnectMakesThePeerTheTargetRelayedAsDm) {
    register_now();
    const auto out = command(cmd::Connect{"bob"});
    const auto connect = sent_as<proto::Connect>(out).at(0);
    EXPECT_EQ(connect.name, "bob");
    const auto found = from_server(
        proto::PeerInfo{"bob", ep("198.51.100.20:5000"), {}, std::string(32, 'c'), true});
    EXPECT_EQ(events_as<ui::PeerFound>(found).size(), 1u);
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Direct, "bob"}));
    const auto say = command(cmd::Say{"just us"});
    const auto dm = sent_as<proto::Direct>(say).at(0);
    EXPECT_EQ(dm.to, std::vector<std::string>{"bob"});
    EXPECT_TRUE(events_as<ui::Direct>(say).at(0).relayed);
}

TEST_F(ClientTest, BeingConnectedToDoesNotChangeTheTarget) {
    register_now();
    const auto out = from_server(
        proto::PeerInfo{"bob", ep("198.51.100.20:5000"), {}, std::string(32, 'c'), false});
    EXPECT_FALSE(events_as<ui::PeerFound>(out).at(0).initiator);
    EXPECT_EQ(client_.target().name, "lobby");
}

TEST_F(ClientTest, DisconnectReturnsToTheLastRoom) {
    register_now();
    from_server(proto::PeerInfo{"bob", ep("198.51.100.20:5000"), {}, std::string(32, 'c'), true});
    command(cmd::Disconnect{});
    EXPECT_EQ(client_.target(), (Target{Target::Kind::Room, "lobby"}));
    EXPECT_EQ(events_as<ui::Error>(command(cmd::Disconnect{})).at(0).code, "usage");
}

TEST_F(ClientTest, ConnectToYourselfSendsNothing) {
    register_now();
    const auto out = command(cmd::Connect{"alice"});
    EXPECT_TRUE(out.datagrams.empty());
}

TEST_F(ClientTest, StatusReportsServerAddressRttRoomsAndTarget) {
    register_now();
    now_ = *client_.next_wakeup();
    tick();
    now_ += 12ms;
    from_server(proto::Pong{});
    const auto s = events_as<ui::Status>(command(cmd::Status{})).at(0);
    EXPECT_EQ(s.server, kServer);
    EXPECT_EQ(s.public_endpoint, kPublic);
    EXPECT_EQ(s.rtt, Duration{12ms});
    EXPECT_EQ(s.rooms, std::vector<std::string>{"lobby"});
    EXPECT_EQ(s.state, ConnectionState::Online);
}

TEST_F(ClientTest, HelpSendsNothing) {
    register_now();
    const auto out = command(cmd::Help{});
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_GT(events_as<ui::Info>(out).size(), 5u);
}

TEST_F(ClientTest, QuitSaysByeAndStops) {
    register_now();
    const auto out = command(cmd::Quit{});
    const auto byes = sent_as<proto::Bye>(out);
    ASSERT_EQ(byes.size(), 1u);
    EXPECT_EQ(byes[0].token, kToken);
    EXPECT_EQ(events_as<ui::Quit>(out).size(), 1u);
    EXPECT_FALSE(client_.next_wakeup().has_value());
    EXPECT_TRUE(client_.shutdown(now_).datagrams.empty()); // only once
}

TEST_F(ClientTest, DatagramsFromOtherSourcesAreIgnored) {
    register_now();
    const auto out = client_.on_datagram(
        ep("192.0.2.66:1234"), proto::encode(proto::RoomMessage{"lobby", "eve", "spoof"}), now_);
    EXPECT_TRUE(out.events.empty());
}

TEST_F(ClientTest, EarlyTickChangesNothing) {
    register_now();
    const auto wake = *client_.next_wakeup();
    now_ = wake - 1ms;
    EXPECT_TRUE(tick().datagrams.empty());
    EXPECT_EQ(client_.next_wakeup(), wake);
}

TEST_F(ClientTest, FastInputIsHeldBackBelowTheServersRateLimit) {
    register_now();
    int sent_now = 0;
    while (client_.ready_for_input(now_) && sent_now < 100) {
        command(cmd::Say{"line " + std::to_string(sent_now)});
        ++sent_now;
    }
    EXPECT_EQ(sent_now, 20); // the burst
    ASSERT_TRUE(client_.input_ready_at(now_).has_value());
    EXPECT_GT(*client_.input_ready_at(now_), now_);
    now_ = *client_.input_ready_at(now_);
    EXPECT_TRUE(client_.ready_for_input(now_));
}

TEST_F(ClientTest, OnlyRequestsThatChangeTheTargetOrPrintAreAwaited) {
    register_now();
    command(cmd::Say{"hi"});
    EXPECT_FALSE(client_.has_pending()); // a chat line is not a request: scripts go on
    EXPECT_EQ(client_.unsettled_lines(), 1u);
    EXPECT_FALSE(client_.awaiting_answer());
    const auto join = command(cmd::Join{"dev"});
    EXPECT_TRUE(client_.awaiting_answer());
    from_server(proto::Ok{id_of<proto::Join>(join), {}});
    EXPECT_FALSE(client_.awaiting_answer());
}

} // namespace
} // namespace chat::peer::testing
