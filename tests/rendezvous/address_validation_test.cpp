// Address validation and what a sender must prove: a hello earns a stateless retry until it
// echoes a cookie for its own address; only the session's token or heartbeat tag changes or
// refreshes a session; unauthenticated datagrams from a session's address cost it nothing.
#include "server_fixture.hpp"

#include "rendezvous/cookie_jar.hpp"

namespace chat::rdv::testing {
namespace {

using proto::DropReason;
using proto::ErrorCode;

class AddressValidationTest : public ServerTest {
  protected:
    // The retry a bare hello earns (exactly one), or an empty cookie.
    std::string retry_cookie(const Endpoint& from, const std::string& name) {
        const auto out = send_once(from, proto::Hello{name, {}, std::nullopt});
        const auto retries = of_type<proto::Retry>(sent_to(out, from));
        EXPECT_EQ(retries.size(), 1u);
        return retries.empty() ? std::string{} : retries.front().cookie;
    }
    Outbox hello_with(const Endpoint& from, const std::string& name, std::string cookie,
                      std::optional<proto::Token> tok = std::nullopt,
                      std::vector<Endpoint> priv = {}) {
        proto::Hello h{name, std::move(priv), std::move(tok)};
        h.cookie = std::move(cookie);
        return send_once(from, h);
    }
    bool welcomed(const Outbox& out, const Endpoint& to) {
        return !of_type<proto::Welcome>(sent_to(out, to)).empty();
    }
};

TEST_F(AddressValidationTest, HelloWithoutCookieGetsARetryNoLargerAndNoState) {
    const std::string hello = proto::encode(proto::Hello{"alice", {}, std::nullopt});
    const auto out = send_raw(kAlice, hello);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_LE((*out.begin()).bytes.size(), hello.size());
    EXPECT_EQ(of_type<proto::Retry>(sent_to(out, kAlice)).size(), 1u);
    EXPECT_EQ(server_.peer_count(), 0u);
    EXPECT_EQ(server_.traffic().retries_sent, 1u);
}

TEST_F(AddressValidationTest, HelloEchoingTheCookieRegisters) {
    const auto cookie = retry_cookie(kAlice, "alice");
    EXPECT_TRUE(welcomed(hello_with(kAlice, "alice", cookie), kAlice));
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(AddressValidationTest, ACookieIsGoodOnlyForTheAddressItWasSentTo) {
    const auto cookie = retry_cookie(kAlice, "alice");
    const auto out = hello_with(kBob, "alice", cookie); // a forger replays alice's cookie
    EXPECT_FALSE(welcomed(out, kBob));
    EXPECT_EQ(of_type<proto::Retry>(sent_to(out, kBob)).size(), 1u);
    EXPECT_EQ(server_.peer_count(), 0u);
    const Endpoint other_port = ep("203.0.113.10:40009");
    EXPECT_FALSE(welcomed(hello_with(other_port, "alice", cookie), other_port));
}

TEST_F(AddressValidationTest, AMadeUpCookieIsRefused) {
    EXPECT_FALSE(welcomed(hello_with(kAlice, "alice", std::string(32, 'a')), kAlice));
    EXPECT_EQ(server_.peer_count(), 0u);
}

TEST_F(AddressValidationTest, ACookieLivesOneToTwoEpochs) {
    now_ = t0_ + kCookieEpoch - 1ms; // issued at the very end of an epoch
    const auto late = retry_cookie(kAlice, "alice");
    now_ = t0_ + 2 * kCookieEpoch - 1ms; // still good at the end of the next one
    EXPECT_TRUE(welcomed(hello_with(kAlice, "alice", late), kAlice));

    now_ = t0_ + 2 * kCookieEpoch; // issued at the start of an epoch
    const auto early = retry_cookie(kBob, "bob");
    now_ = t0_ + 4 * kCookieEpoch; // two rotations later: gone
    EXPECT_FALSE(welcomed(hello_with(kBob, "bob", early), kBob));
    now_ = t0_ + 4 * kCookieEpoch - 1ms;
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST(CookieJar, RotationKeepsThePreviousSecretOnly) {
    testkit::SeededRng rng{3};
    const Time t0{};
    CookieJar jar{rng, t0};
    const auto c = jar.issue(kAlice, t0);
    EXPECT_TRUE(jar.valid(kAlice, c, t0 + kCookieEpoch));             // previous epoch
    EXPECT_TRUE(jar.valid(kAlice, c, t0 + 2 * kCookieEpoch - 1ms));   // still previous
    EXPECT_FALSE(jar.valid(kAlice, c, t0 + 2 * kCookieEpoch));        // two back
    EXPECT_FALSE(jar.valid(kBob, jar.issue(kAlice, t0 + 2 * kCookieEpoch), t0 + 2 * kCookieEpoch));
    EXPECT_FALSE(jar.valid(kAlice, "", t0 + 2 * kCookieEpoch));
}

TEST(CookieJar, AServerIdleForLongIssuesFreshCookies) {
    testkit::SeededRng rng{3};
    const Time t0{};
    CookieJar jar{rng, t0};
    const auto old = jar.issue(kAlice, t0);
    const Time later = t0 + 10 * kCookieEpoch;
    EXPECT_FALSE(jar.valid(kAlice, old, later));
    EXPECT_TRUE(jar.valid(kAlice, jar.issue(kAlice, later), later));
}

TEST_F(AddressValidationTest, MovingASessionNeedsACookieForTheNewAddress) {
    const auto tok = register_peer("alice", kAlice);
    const Endpoint moved = ep("203.0.113.10:50000");
    const auto first = send_once(moved, proto::Hello{"alice", {}, tok});
    EXPECT_EQ(of_type<proto::Retry>(sent_to(first, moved)).size(), 1u);
    EXPECT_FALSE(welcomed(first, moved));
    const auto cookie = of_type<proto::Retry>(sent_to(first, moved)).front().cookie;
    EXPECT_TRUE(welcomed(hello_with(moved, "alice", cookie, tok), moved));
    // The old address has no session any more.
    EXPECT_EQ(raw_to(send_raw(kAlice, proto::kPing), kAlice),
              std::vector<std::string>{proto::kWhoAreYou});
}

TEST_F(AddressValidationTest, TokenlessHelloFromTheSessionsAddressOnlyResendsTheWelcome) {
    const Endpoint lan = ep("192.168.1.5:40001");
    const auto tok = register_peer("dave", kAlice, {lan});
    const Endpoint attacker = ep("198.51.100.66:6666");
    // Forged from dave's address, without dave's token: dave gets his welcome again.
    const auto out = send_once(kAlice, proto::Hello{"dave", {attacker}, std::nullopt});
    EXPECT_TRUE(welcomed(out, kAlice));
    // dave's candidates are still his own: bob's connect hands out the LAN address.
    const auto bob_tok = register_peer("bob", kBob);
    const auto exchange = send(kBob, proto::Connect{bob_tok, 1, "dave"});
    const auto info = only<proto::PeerInfo>(exchange, kBob);
    ASSERT_EQ(info.private_endpoints.size(), 1u);
    EXPECT_EQ(info.private_endpoints.front(), lan);
    (void)tok;
}

TEST_F(AddressValidationTest, TokenlessHellosDoNotKeepASessionAlive) {
    register_peer("dave", kAlice);
    for (Time t = t0_ + 4s; t < t0_ + 30s; t += 4s)
        send_once(kAlice, proto::Hello{"dave", {}, std::nullopt}, t);
    server_.on_tick(t0_ + 30s);
    EXPECT_EQ(server_.peer_count(), 0u);
}

TEST_F(AddressValidationTest, TheOwnersHelloWithItsTokenUpdatesItsCandidates) {
    const auto tok = register_peer("dave", kAlice);
    const Endpoint lan = ep("10.0.0.7:40001");
    send_once(kAlice, proto::Hello{"dave", {lan}, tok});
    const auto bob_tok = register_peer("bob", kBob);
    const auto info = only<proto::PeerInfo>(send(kBob, proto::Connect{bob_tok, 1, "dave"}), kBob);
    ASSERT_EQ(info.private_endpoints.size(), 1u);
    EXPECT_EQ(info.private_endpoints.front(), lan);
}

TEST_F(AddressValidationTest, ASquatterWithoutCookieTakesNoName) {
    send_once(kCarol, proto::Hello{"bob", {}, std::nullopt}); // forged: never sees the retry
    EXPECT_EQ(server_.peer_count(), 0u);
    EXPECT_FALSE(register_peer("bob", kBob).empty());
}

// ---------------------------------------------------------------- heartbeats

TEST_F(AddressValidationTest, OnlyTheSessionsTagRefreshesIt) {
    const auto tok = register_peer("alice", kAlice);
    const std::string wrong = proto::encode(proto::Ping{std::string(16, '0')});
    for (Time t = t0_ + 4s; t < t0_ + 30s; t += 4s) {
        EXPECT_TRUE(server_.on_datagram(kAlice, std::string(proto::kPing), t).empty());
        EXPECT_TRUE(server_.on_datagram(kAlice, wrong, t).empty());
    }
    EXPECT_GT(drops(DropReason::BadHeartbeat), 0u);
    server_.on_tick(t0_ + 30s);
    EXPECT_EQ(server_.peer_count(), 0u);
    (void)tok;
}

TEST_F(AddressValidationTest, TheRightTagIsAnsweredWithPong) {
    const auto tok = register_peer("alice", kAlice);
    const auto out = send_once(kAlice, proto::Ping{proto::heartbeat_tag(tok)}, t0_ + 9s);
    EXPECT_EQ(raw_to(out, kAlice), std::vector<std::string>{proto::kPong});
    server_.on_tick(t0_ + 10s);
    EXPECT_EQ(server_.peer_count(), 1u);
}

TEST_F(AddressValidationTest, ATaggedPingWithoutASessionLearnsItIsUnknown) {
    const auto out = send_once(kAlice, proto::Ping{std::string(16, 'a')});
    EXPECT_EQ(raw_to(out, kAlice), std::vector<std::string>{proto::kWhoAreYou});
}

// ---------------------------------------------------------------- budgets

TEST_F(AddressValidationTest, ForgedJunkFromASessionsAddressDoesNotSpendItsBudget) {
    const auto tok = register_peer("alice", kAlice);
    const std::string junk = proto::encode(proto::Join{std::string(32, 'e'), 1, "dev"});
    for (int i = 0; i < 300; ++i)
        send_raw(kAlice, junk);
    EXPECT_GT(drops(DropReason::RateLimited), 0u); // the source's budget ran out
    const auto out = send_once(kAlice, proto::Ping{proto::heartbeat_tag(tok)});
    EXPECT_EQ(raw_to(out, kAlice), std::vector<std::string>{proto::kPong});
}

} // namespace
} // namespace chat::rdv::testing
