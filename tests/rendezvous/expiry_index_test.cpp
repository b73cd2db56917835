// ExpiryIndex: deadlines come out in time order, and re-arming replaces a deadline.
#include "rendezvous/expiry_index.hpp"

#include <gtest/gtest.h>

namespace chat::rdv {
namespace {

using namespace std::chrono_literals;

TEST(ExpiryIndex, TakesOnlyWhatIsDueOldestFirst) {
    ExpiryIndex idx;
    const Time t0{};
    idx.arm(1, t0 + 30ms);
    idx.arm(2, t0 + 10ms);
    idx.arm(3, t0 + 20ms);
    EXPECT_EQ(idx.earliest(), t0 + 10ms);
    EXPECT_EQ(idx.take_due(t0 + 20ms), (std::vector<PeerId>{2, 3}));
    EXPECT_EQ(idx.earliest(), t0 + 30ms);
    EXPECT_EQ(idx.size(), 1u);
}

TEST(ExpiryIndex, RearmingMovesTheDeadlineAndDisarmRemovesIt) {
    ExpiryIndex idx;
    const Time t0{};
    idx.arm(1, t0 + 10ms);
    idx.arm(1, t0 + 50ms);
    EXPECT_TRUE(idx.take_due(t0 + 40ms).empty());
    idx.disarm(1);
    EXPECT_EQ(idx.earliest(), std::nullopt);
    EXPECT_TRUE(idx.take_due(t0 + 100ms).empty());
}

} // namespace
} // namespace chat::rdv
