// SendPacer: a burst goes at once, then commands wait for the bucket to refill.
#include "peer/send_pacer.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

using namespace std::chrono_literals;

TEST(SendPacer, BurstGoesAtOnceThenTenPerSecond) {
    const Time t0{};
    SendPacer pacer{t0};
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(pacer.ready(t0)) << i;
        pacer.spend(1, t0);
    }
    EXPECT_FALSE(pacer.ready(t0));
    EXPECT_EQ(pacer.ready_at(t0), t0 + 101ms);
    EXPECT_TRUE(pacer.ready(t0 + 101ms));
}

TEST(SendPacer, ALongLineGoesWholeAndTheNextWaitsForTheDebt) {
    const Time t0{};
    SendPacer pacer{t0};
    pacer.spend(30, t0); // 20 tokens, 10 in debt
    EXPECT_FALSE(pacer.ready(t0 + 1s));
    EXPECT_TRUE(pacer.ready(t0 + 1101ms));
}

TEST(SendPacer, IdleTimeRefillsOnlyUpToTheBurst) {
    const Time t0{};
    SendPacer pacer{t0};
    pacer.spend(20, t0);
    pacer.spend(20, t0 + 1h); // refilled to 20, not to 36000
    EXPECT_FALSE(pacer.ready(t0 + 1h));
}

} // namespace
} // namespace chat::peer
