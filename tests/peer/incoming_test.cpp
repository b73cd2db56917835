// IncomingLines: each author's lines once and in order, whatever the network did to them.
#include "peer/incoming.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

using namespace std::chrono_literals;

class IncomingTest : public ::testing::Test {
  protected:
    // Bob's line n (with lo) in #dev arrives; returns the texts shown now.
    std::vector<std::string> arrive(std::uint32_t n, std::uint32_t lo,
                                    const std::string& inst = "0000000b") {
        std::vector<UiEvent> shown;
        lines_.on_line("bob", "#dev", proto::Stamp{inst, n, lo},
                       ui::Message{"dev", "bob", "line " + std::to_string(n), false}, now_, shown);
        return texts(shown);
    }
    std::vector<std::string> tick_at(Time t) {
        now_ = t;
        std::vector<UiEvent> shown;
        lines_.on_tick(now_, shown);
        return texts(shown);
    }
    static std::vector<std::string> texts(const std::vector<UiEvent>& shown) {
        std::vector<std::string> v;
        for (const auto& e : shown) {
            const auto& m = std::get<ui::Message>(e);
            v.push_back(m.text + (m.late ? " (late)" : ""));
        }
        return v;
    }
    using V = std::vector<std::string>;
    IncomingLines lines_;
    Time now_{};
};

TEST_F(IncomingTest, InOrderLinesAreShownAtOnce) {
    EXPECT_EQ(arrive(1, 1), V{"line 1"});
    EXPECT_EQ(arrive(2, 2), V{"line 2"});
    EXPECT_EQ(arrive(3, 2), V{"line 3"});
}

TEST_F(IncomingTest, DuplicatesAreDropped) {
    arrive(1, 1);
    arrive(2, 1);
    EXPECT_TRUE(arrive(1, 1).empty());
    EXPECT_TRUE(arrive(2, 1).empty());
    EXPECT_EQ(lines_.duplicates(), 2u);
}

TEST_F(IncomingTest, AnEarlyLineIsHeldUntilTheGapFills) {
    arrive(1, 1);
    EXPECT_TRUE(arrive(3, 2).empty()); // 2 is still in flight at bob
    EXPECT_TRUE(arrive(4, 2).empty());
    EXPECT_EQ(arrive(2, 2), (V{"line 2", "line 3", "line 4"}));
    EXPECT_FALSE(lines_.next_wakeup());
}

TEST_F(IncomingTest, TheFirstLineOfAStreamWaitsForEarlierUnsettledOnes) {
    EXPECT_TRUE(arrive(2, 1).empty()); // line 1 is not settled yet: it may come
    EXPECT_EQ(arrive(1, 1), (V{"line 1", "line 2"}));
}

TEST_F(IncomingTest, AFirstLineAtItsLoIsShownAtOnce) {
    EXPECT_EQ(arrive(57, 57), V{"line 57"}); // joined late: 1..56 are settled
}

TEST_F(IncomingTest, LoSaysTheGapIsSettledSoHeldLinesGoAtOnce) {
    arrive(1, 1);
    EXPECT_TRUE(arrive(3, 2).empty());
    // Line 2 was refused or given up at the author: line 4 says so with lo = 3.
    EXPECT_EQ(arrive(4, 3), (V{"line 3", "line 4"}));
}

TEST_F(IncomingTest, AGapIsGivenUpAfterTenSecondsAndTheLineShownLateIfItComes) {
    arrive(1, 1);
    EXPECT_TRUE(arrive(3, 2).empty());
    EXPECT_EQ(lines_.next_wakeup(), now_ + IncomingLines::kHoldAtMost);
    EXPECT_TRUE(tick_at(now_ + 9999ms).empty());
    EXPECT_EQ(tick_at(now_ + 1ms), V{"line 3"});
    EXPECT_EQ(arrive(2, 2), V{"line 2 (late)"});
    EXPECT_TRUE(arrive(2, 2).empty()); // and only once
    EXPECT_EQ(lines_.late(), 1u);
}

TEST_F(IncomingTest, StreamsAreSeparateByAuthorInstanceAndAudience) {
    arrive(1, 1);
    EXPECT_EQ(arrive(1, 1, "0000000c"), V{"line 1"}); // bob restarted: a new instance
    std::vector<UiEvent> shown;
    lines_.on_line("carol", "#dev", proto::Stamp{"0000000b", 1, 1},
                   ui::Message{"dev", "carol", "line 1", false}, now_, shown);
    lines_.on_line("bob", "@alice", proto::Stamp{"0000000b", 1, 1},
                   ui::Message{"dev", "bob", "line 1", false}, now_, shown);
    EXPECT_EQ(shown.size(), 2u);
}

TEST_F(IncomingTest, TooManyHeldLinesGiveUpTheGap) {
    arrive(1, 1);
    for (std::uint32_t n = 3; n < 3 + IncomingLines::kMaxHeld; ++n)
        EXPECT_TRUE(arrive(n, 2).empty());
    EXPECT_EQ(arrive(3 + IncomingLines::kMaxHeld, 2).size(), IncomingLines::kMaxHeld + 1);
}

TEST_F(IncomingTest, ForgettingAStreamStartsItAfresh) {
    arrive(1, 1);
    lines_.forget_stream("#dev");
    EXPECT_EQ(arrive(1, 1), V{"line 1"}); // after /leave and /join, not a duplicate
}

TEST(PendingAcks, BatchesForTwoHundredMillisecondsOrThirtyTwoIds) {
    PendingAcks acks;
    const Time t0{};
    acks.add(5, t0);
    acks.add(6, t0 + 50ms);
    EXPECT_TRUE(acks.take_due(t0 + 199ms).empty());
    EXPECT_EQ(acks.take_due(t0 + 200ms), (std::vector<proto::DeliveryId>{5, 6}));
    EXPECT_FALSE(acks.next_wakeup());
    for (proto::DeliveryId d = 1; d <= 32; ++d)
        acks.add(d, t0 + 1s);
    EXPECT_EQ(acks.take_due(t0 + 1s).size(), 32u);
}

} // namespace
} // namespace chat::peer
