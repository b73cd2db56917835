// Registration timing alone: what is due when, and the backoff after losing the server.
#include "peer/registration.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

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
}

// Every start-up action at its time, from start until the start-up timeout: hellos each
// second for 5 s, then 2 s and 4 s apart; "still trying" at 5, 15 and 25 s; failure at 30 s.
std::vector<std::pair<Duration, Due>> startup_script(const RegistrationConfig& cfg) {
    testkit::SeededRng rng{1};
    Registration reg{cfg, rng};
    const Time t0{};
    reg.start(t0);
    std::vector<std::pair<Duration, Due>> script;
    for (int step = 0; step < 100 && reg.next_wakeup(); ++step) {
        const Time now = *reg.next_wakeup();
        const Due d = reg.due(now);
        script.emplace_back(now - t0, d);
        if (d == Due::Hello)
            reg.hello_sent(now);
        else if (d == Due::StillTrying)
            reg.still_trying_told();
        else if (d == Due::StartupFailed)
            reg.close();
        else
            ADD_FAILURE() << "unexpected action at start-up";
    }
    return script;
}

TEST(Registration, StartupRetriesWithBackoffForThirtySecondsSayingItIsStillTrying) {
    using D = Duration;
    const std::vector<std::pair<Duration, Due>> expected = {
        {D{0s}, Due::Hello},  {D{1s}, Due::Hello},          {D{2s}, Due::Hello},
        {D{3s}, Due::Hello},  {D{4s}, Due::Hello},          {D{5s}, Due::StillTrying},
        {D{5s}, Due::Hello},  {D{6s}, Due::Hello},          {D{8s}, Due::Hello},
        {D{12s}, Due::Hello}, {D{15s}, Due::StillTrying},   {D{16s}, Due::Hello},
        {D{20s}, Due::Hello}, {D{24s}, Due::Hello},         {D{25s}, Due::StillTrying},
        {D{28s}, Due::Hello}, {D{30s}, Due::StartupFailed},
    };
    EXPECT_EQ(startup_script({}), expected);
}

TEST(Registration, StillTryingSaysHowLongThereHasBeenNoAnswer) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    const Time t0{};
    reg.start(t0);
    reg.hello_sent(t0);
    EXPECT_NE(reg.due(t0 + 5s - 1ms), Due::StillTrying);
    EXPECT_EQ(reg.due(t0 + 5s), Due::StillTrying);
    EXPECT_EQ(reg.still_trying_for(), 5s);
    reg.still_trying_told();
    EXPECT_NE(reg.due(t0 + 5s), Due::StillTrying);
    EXPECT_EQ(reg.still_trying_for(), 15s);
}

TEST(Registration, ShortStartupTimeoutFailsBeforeAnyStillTrying) {
    RegistrationConfig cfg;
    cfg.startup_timeout = 3s;
    const auto script = startup_script(cfg);
    ASSERT_FALSE(script.empty());
    EXPECT_EQ(script.back(), (std::pair<Duration, Due>{3s, Due::StartupFailed}));
    EXPECT_EQ(script.size(), 4u); // hellos at 0, 1 and 2 s
}

TEST(Registration, WelcomeEndsTheStartupSchedule) {
    testkit::SeededRng rng{1};
    Registration reg{{}, rng};
    const Time t0{};
    reg.start(t0);
    reg.hello_sent(t0);
    reg.welcomed(welcome(std::string(32, 'a')), t0 + 4s);
    for (Duration d = 4s; d <= 40s; d += 500ms) {
        const Due due = reg.due(t0 + d);
        EXPECT_NE(due, Due::StillTrying);
        EXPECT_NE(due, Due::StartupFailed);
        if (due == Due::Ping) {
            reg.ping_sent(t0 + d);
            reg.pong(t0 + d);
        }
    }
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
