// Registration, sessions and tokens, direct messages and endpoint exchange.
#include "server_fixture.hpp"

namespace chat::rdv::testing {
namespace {

using proto::ErrorCode;

TEST_F(ServerTest, WelcomeCarriesObservedEndpointTokenAndTimers) {
    const auto out = send(kAlice, proto::Hello{"alice", {ep("10.0.0.5:40001")}, std::nullopt});
    const auto w = only<proto::Welcome>(out, kAlice);
    EXPECT_EQ(w.name, "alice");
    EXPECT_EQ(w.public_endpoint, kAlice);
    EXPECT_EQ(w.token.size(), 32u);
    EXPECT_EQ(w.heartbeat, 5s);
    EXPECT_EQ(w.timeout, 10s);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, NewPeerIsAnnouncedToTheLobby) {
    register_peer("alice", kAlice);
    const auto out = send(kBob, proto::Hello{"bob", {}, std::nullopt});
    const auto j = only<proto::MemberJoined>(out, kAlice);
    EXPECT_EQ(j.room, "lobby");
    EXPECT_EQ(j.name, "bob");
}

TEST_F(ServerTest, TokensDifferBetweenSessions) {
    EXPECT_NE(register_peer("alice", kAlice), register_peer("bob", kBob));
}

TEST_F(ServerTest, NameHeldByALivePeerIsRefusedWithoutAmplification) {
    register_peer("alice", kAlice);
    const std::string hello = proto::encode(proto::Hello{"alice", {}, std::nullopt});
    const auto out = server_.on_datagram(kBob, hello, now_);
    const auto err = only<proto::Error>(out, kBob);
    EXPECT_EQ(err.code, ErrorCode::NameTaken);
    EXPECT_NE(err.text.find("\"alice\""), std::string::npos);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_LE(out[0].bytes.size(), hello.size());
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, WrongTokenCannotTakeOverAName) {
    register_peer("alice", kAlice);
    const auto out = send(kBob, proto::Hello{"alice", {}, proto::Token(32, 'b')});
    EXPECT_EQ(only<proto::Error>(out, kBob).code, ErrorCode::NameTaken);
}

TEST_F(ServerTest, HelloWithTokenFromNewAddressMovesTheSession) {
    const auto tok = register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const Endpoint rebound = ep("203.0.113.10:51000");
    const auto out = send(rebound, proto::Hello{"alice", {}, tok});
    const auto w = only<proto::Welcome>(out, rebound);
    EXPECT_EQ(w.token, tok);
    EXPECT_EQ(w.public_endpoint, rebound);
    EXPECT_EQ(server_.peer_count(), 2u);
    // The old address no longer speaks for alice; the new one does.
    const auto stale = send(kAlice, proto::Say{tok, 1, "lobby", "from the old port"});
    EXPECT_EQ(only<proto::Error>(stale, kAlice).code, ErrorCode::NoSession);
    const auto fresh = send(rebound, proto::Say{tok, 2, "lobby", "from the new port"});
    EXPECT_EQ(only<proto::RoomMessage>(fresh, kBob).from, "alice");
    EXPECT_TRUE(log_.contains("migrated name=alice"));
}

TEST_F(ServerTest, RepeatedHelloFromSameAddressIsAnsweredAgain) {
    const auto tok = register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Hello{"alice", {}, tok});
    EXPECT_EQ(only<proto::Welcome>(out, kAlice).token, tok);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, HelloRepeatedWithoutTokenAfterALostWelcomeGetsTheSameSession) {
    const auto tok = register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Hello{"alice", {}, std::nullopt});
    EXPECT_EQ(only<proto::Welcome>(out, kAlice).token, tok);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, HelloWithAStaleTokenFromTheSessionsAddressGetsThatSession) {
    // Evicted, alice said hello with her old token: a new session, whose welcome was lost.
    // She asks again, still with the old token, from the same address: that is her.
    const auto tok = register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Hello{"alice", {}, proto::Token(32, 'e')});
    EXPECT_EQ(only<proto::Welcome>(out, kAlice).token, tok);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, SecondNameFromAnAddressWithASessionIsRefused) {
    register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Hello{"mallory", {}, std::nullopt});
    EXPECT_EQ(only<proto::Error>(out, kAlice).code, ErrorCode::BadRequest);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, UnknownTokenAfterRestartRegistersAFreshSession) {
    const auto out = send(kAlice, proto::Hello{"alice", {}, proto::Token(32, 'c')});
    const auto w = only<proto::Welcome>(out, kAlice);
    EXPECT_NE(w.token, proto::Token(32, 'c'));  // the client never chooses its token
}

TEST_F(ServerTest, RequestWithWrongTokenIsDroppedSilently) {
    register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const auto out = send(kAlice, proto::Say{proto::Token(32, 'f'), 1, "lobby", "spoof"});
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(drops(proto::DropReason::BadToken), 1u);
}

TEST_F(ServerTest, ValidTokenFromAnotherAddressCannotActAsThePeer) {
    const auto tok = register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const auto out = send(kCarol, proto::Say{tok, 1, "lobby", "I am alice"});
    EXPECT_TRUE(sent_to(out, kBob).empty());
    EXPECT_EQ(only<proto::Error>(out, kCarol).code, ErrorCode::NoSession);
    EXPECT_EQ(drops(proto::DropReason::NotRegistered), 1u);
}

TEST_F(ServerTest, EvenTheSmallestRequestGetsItsNoSessionAnswer) {
    const auto out = send(kCarol, proto::Join{proto::Token(32, 'a'), 1, "a"});
    EXPECT_EQ(only<proto::Error>(out, kCarol).code, ErrorCode::NoSession);
}

TEST_F(ServerTest, NoSessionReplyIsNeverLargerThanTheRequest) {
    const std::string bye = proto::encode(proto::Bye{proto::Token(32, 'a')});
    const auto out = server_.on_datagram(kCarol, bye, now_);
    for (const auto& d : out) EXPECT_LE(d.bytes.size(), bye.size());
}

TEST_F(ServerTest, MalformedRequestFromASessionIsExplainedNoLargerThanItself) {
    const auto tok = register_peer("alice", kAlice);
    const std::string bad =
        R"({"v":1,"t":"join","tok":")" + tok + R"(","id":3,"room":"no spaces allowed"})";
    const auto out = send_raw(kAlice, bad);
    const auto err = only<proto::Error>(out, kAlice);
    EXPECT_EQ(err.code, ErrorCode::BadRequest);
    EXPECT_EQ(err.text, "join.room: out of limits");
    EXPECT_LE(out[0].bytes.size(), bad.size());
    EXPECT_EQ(drops(proto::DropReason::BadField), 1u);
}

TEST_F(ServerTest, GarbageFromASessionAddressGetsNoAnswer) {
    register_peer("alice", kAlice);
    EXPECT_TRUE(send_raw(kAlice, "{").empty());
}

TEST_F(ServerTest, PingFromRegisteredPeerIsAnsweredWithPong) {
    register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Ping{});
    EXPECT_EQ(raw_to(out, kAlice), std::vector<std::string>{"#pong#"});
}

TEST_F(ServerTest, PingFromUnknownAddressIsToldToRegisterWhenPlaintextIsOff) {
    const auto out = send(kCarol, proto::Ping{});
    EXPECT_EQ(raw_to(out, kCarol), std::vector<std::string>{"#who?#"}); // six bytes for six
    EXPECT_EQ(drops(proto::DropReason::NotRegistered), 1u);
    EXPECT_EQ(server_.peer_count(), 0u);
}

TEST_F(ServerTest, ByeTellsTheRoomsTheLeaveWasAQuit) {
    const auto tok = register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const auto out = send(kAlice, proto::Bye{tok});
    const auto left = only<proto::MemberLeft>(out, kBob);
    EXPECT_EQ(left.name, "alice");
    EXPECT_EQ(left.reason, proto::LeaveReason::Quit);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(ServerTest, DirectMessageReachesEachNamedPeerAndReportsUnknownNames) {
    const auto tok = register_peer("alice", kAlice);
    register_peer("bob", kBob);
    register_peer("carol", kCarol);
    const auto out = send(kAlice, proto::Direct{tok, 4, {"bob", "carol", "zed"}, "psst"});
    const auto to_bob = only<proto::DirectMessage>(out, kBob);
    EXPECT_EQ(to_bob.from, "alice");
    EXPECT_EQ(to_bob.text, "psst");
    EXPECT_EQ(to_bob.to, (std::vector<std::string>{"bob", "carol", "zed"}));
    EXPECT_EQ(only<proto::DirectMessage>(out, kCarol).text, "psst");
    const auto ok = only<proto::Ok>(out, kAlice);
    EXPECT_EQ(ok.id, 4u);
    EXPECT_EQ(ok.unknown, std::vector<std::string>{"zed"});
}

TEST_F(ServerTest, DirectMessageToNobodyOnlineIsAnError) {
    const auto tok = register_peer("alice", kAlice);
    const auto out = send(kAlice, proto::Direct{tok, 5, {"zed", "yan"}, "hello?"});
    const auto err = only<proto::Error>(out, kAlice);
    EXPECT_EQ(err.code, ErrorCode::NoSuchUser);
    EXPECT_EQ(err.id, 5u);
    EXPECT_NE(err.text.find("zed,yan"), std::string::npos);
}

TEST_F(ServerTest, ConnectGivesBothSidesTheOthersEndpointsAndOneNonce) {
    const auto tok = register_peer("alice", kAlice, {ep("10.0.0.1:40001")});
    register_peer("bob", kBob, {ep("10.0.1.2:40002"), ep("[fd00::2]:40002")});
    const auto out = send(kAlice, proto::Connect{tok, 9, "bob"});
    const auto for_alice = only<proto::PeerInfo>(out, kAlice);
    const auto for_bob = only<proto::PeerInfo>(out, kBob);
    EXPECT_EQ(for_alice.name, "bob");
    EXPECT_EQ(for_alice.public_endpoint, kBob);
    EXPECT_EQ(for_alice.private_endpoints.size(), 2u);
    EXPECT_TRUE(for_alice.initiator);
    EXPECT_EQ(for_bob.name, "alice");
    EXPECT_EQ(for_bob.public_endpoint, kAlice);
    EXPECT_EQ(for_bob.private_endpoints, std::vector<Endpoint>{ep("10.0.0.1:40001")});
    EXPECT_FALSE(for_bob.initiator);
    EXPECT_EQ(for_alice.nonce, for_bob.nonce);
    EXPECT_EQ(for_alice.nonce.size(), 32u);
}

TEST_F(ServerTest, TargetsHalfOfAnExchangeIsResentUntilItsGot) {
    const auto tok = register_peer("alice", kAlice);
    const auto bob = register_peer("bob", kBob);
    const auto out = send(kAlice, proto::Connect{tok, 9, "bob"});
    EXPECT_FALSE(only<proto::PeerInfo>(out, kAlice).d.has_value()); // alice resends connect
    const auto first = only<proto::PeerInfo>(out, kBob);
    ASSERT_TRUE(first.d.has_value());
    const auto resent = server_.on_tick(now_ + 1s); // the first RTO: lost, as far as it knows
    const auto again = only<proto::PeerInfo>(resent, kBob);
    EXPECT_EQ(again.nonce, first.nonce);
    EXPECT_EQ(again.d, first.d);
    EXPECT_TRUE(sent_to(resent, kAlice).empty());
    now_ += 1s;
    send(kBob, proto::Got{bob, {*first.d}});
    EXPECT_TRUE(server_.on_tick(now_ + 5s).empty()); // before anyone is evicted
}

TEST_F(ServerTest, ConnectToOfflinePeerOrSelfIsAnError) {
    const auto tok = register_peer("alice", kAlice);
    EXPECT_EQ(only<proto::Error>(send(kAlice, proto::Connect{tok, 1, "bob"}), kAlice).code,
              ErrorCode::NoSuchUser);
    EXPECT_EQ(only<proto::Error>(send(kAlice, proto::Connect{tok, 2, "alice"}), kAlice).code,
              ErrorCode::BadRequest);
}

TEST_F(ServerTest, ShutdownSaysGoodbyeToEveryPeer) {
    register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const auto out = server_.shutdown(now_);
    EXPECT_EQ(of_type<proto::Shutdown>(sent_to(out, kAlice)).size(), 1u);
    EXPECT_EQ(of_type<proto::Shutdown>(sent_to(out, kBob)).size(), 1u);
}

class SmallServerTest : public ServerTest {
protected:
    SmallServerTest() : ServerTest(config()) {}
    static ServerConfig config() {
        ServerConfig c;
        c.max_peers = 2;
        return c;
    }
};

TEST_F(SmallServerTest, FullTableRefusesNewPeersWithServerFull) {
    register_peer("alice", kAlice);
    register_peer("bob", kBob);
    const auto out = send(kCarol, proto::Hello{"carol", {}, std::nullopt});
    EXPECT_EQ(only<proto::Error>(out, kCarol).code, ErrorCode::ServerFull);
    EXPECT_EQ(server_.peer_count(), 2u);
    EXPECT_EQ(drops(proto::DropReason::TableFull), 1u);
}

} // namespace
} // namespace chat::rdv::testing
