// Registration timing alone: what is due when, and the backoff after losing the server.
#include "peer/registration.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

using Due = Registration::Due;

proto::Welcome welcome(std::string token) {
    return proto::Welcome{"alice", proto::Endpoint{}, std::move(token), 5s, 10s};
}

TEST(Registration, HelloIsDueAtStartAndEverySecond) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    const Time t0{};
    reg.start(t0);
    EXPECT_EQ(reg.due(t0), Due::Hello);
    reg.hello_sent(t0);
    EXPECT_EQ(reg.due(t0 + 999ms), Due::Nothing);
    EXPECT_EQ(reg.due(t0 + 1s), Due::Hello);
    EXPECT_EQ(reg.due(t0 + 5s), Due::StartupFailed);
}

TEST(Registration, NewTokenMeansNewSession) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    reg.start(Time{});
    EXPECT_TRUE(reg.welcomed(welcome(std::string(32, 'a')), Time{}));
    reg.lost(Time{} + 20s);
    EXPECT_FALSE(reg.welcomed(welcome(std::string(32, 'a')), Time{} + 21s));
    reg.lost(Time{} + 40s);
    EXPECT_TRUE(reg.welcomed(welcome(std::string(32, 'b')), Time{} + 41s));
}

TEST(Registration, ServerIsLostThreeHeartbeatsAfterTheLastPong) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    const Time t0{};
    reg.start(t0);
    reg.welcomed(welcome(std::string(32, 'a')), t0);
    reg.pong(t0 + 7s);
    EXPECT_NE(reg.due(t0 + 22s - 1ms), Due::Lost);
    EXPECT_EQ(reg.due(t0 + 22s), Due::Lost);
}

TEST(Registration, AnUnansweredPingIsRetriedSoonThenAboutEverySecond) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    const Time t0{};
    reg.start(t0);
    reg.welcomed(welcome(std::string(32, 'a')), t0);
    const Time first = *reg.next_wakeup();
    EXPECT_GE(first, t0 + 4500ms); // a heartbeat, minus up to a tenth of jitter
    reg.ping_sent(first);
    EXPECT_EQ(reg.next_wakeup(), first + 1s); // no RTT yet: the retry waits 1 s
    reg.ping_sent(first + 1s);
    reg.ping_sent(first + 2s);
    EXPECT_EQ(reg.next_wakeup(), first + 3s); // then every heartbeat / 5 until the pong
    reg.pong(first + 2100ms);
    EXPECT_FALSE(reg.rtt());              // a retried ping's pong says nothing about the RTT (Karn)
    const Time next = *reg.next_wakeup(); // back to the cadence of the heartbeat's first ping
    EXPECT_GE(next, first + 4500ms);
    EXPECT_LE(next, first + 5s);
}

TEST(Registration, FasterHeartbeatFromTheWelcomeIsObeyed) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    reg.start(Time{});
    reg.welcomed(proto::Welcome{"alice", proto::Endpoint{}, std::string(32, 'a'), 1s, 2s}, Time{});
    EXPECT_EQ(reg.heartbeat(), Duration{1s});
    const auto wake = reg.next_wakeup();
    ASSERT_TRUE(wake.has_value());
    EXPECT_GE(*wake, Time{} + 900ms);
    EXPECT_LE(*wake, Time{} + 1s);
}

TEST(Registration, ClosedHasNothingDue) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    reg.start(Time{});
    reg.close();
    EXPECT_EQ(reg.due(Time{} + 1h), Due::Nothing);
    EXPECT_FALSE(reg.next_wakeup().has_value());
}

} // namespace
} // namespace chat::peer
