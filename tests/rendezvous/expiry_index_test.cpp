// ExpiryIndex: deadlines come out in time order, and re-arming replaces a deadline, whether
// it moves it earlier or (lazily) later.
#include "rendezvous/expiry_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

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

TEST(ExpiryIndex, AHeartbeatBehindTheFrontStillComesOutAtItsNewDeadline) {
    ExpiryIndex idx;
    const Time t0{};
    idx.arm(1, t0 + 10ms);
    idx.arm(2, t0 + 20ms);
    idx.arm(2, t0 + 30ms); // not the front: only its deadline is written down
    idx.arm(3, t0 + 25ms);
    EXPECT_EQ(idx.take_due(t0 + 10ms), (std::vector<PeerId>{1}));
    EXPECT_EQ(idx.earliest(), t0 + 25ms);
    EXPECT_EQ(idx.take_due(t0 + 29ms), (std::vector<PeerId>{3}));
    EXPECT_EQ(idx.earliest(), t0 + 30ms);
    EXPECT_EQ(idx.take_due(t0 + 30ms), (std::vector<PeerId>{2}));
}

TEST(ExpiryIndex, AgreesWithAnOrderedSetUnderRandomArmsAndDisarms) {
    std::mt19937_64 rng{5};
    ExpiryIndex idx;
    std::set<std::pair<Time, PeerId>> ref;
    std::map<PeerId, Time> armed;
    Time now{};
    for (int step = 0; step < 100'000; ++step) {
        const PeerId id = make_peer_id(static_cast<std::uint32_t>(rng() % 3000), 1);
        const auto op = rng() % 10;
        if (op < 6) { // arm or re-arm, often at a time other deadlines share
            const Time at = now + Duration(static_cast<std::int64_t>(rng() % 200));
            if (armed.contains(id))
                ref.erase({armed[id], id});
            idx.arm(id, at);
            ref.emplace(at, id);
            armed[id] = at;
        } else if (op < 8) {
            idx.disarm(id);
            if (armed.contains(id)) {
                ref.erase({armed[id], id});
                armed.erase(id);
            }
        } else {
            now += Duration(static_cast<std::int64_t>(rng() % 20));
            std::vector<PeerId> want;
            while (!ref.empty() && ref.begin()->first <= now) {
                want.push_back(ref.begin()->second);
                armed.erase(ref.begin()->second);
                ref.erase(ref.begin());
            }
            ASSERT_EQ(idx.take_due(now), want);
        }
        ASSERT_EQ(idx.size(), ref.size());
        ASSERT_EQ(idx.earliest(), ref.empty() ? std::nullopt : std::optional{ref.begin()->first});
    }
}

} // namespace
} // namespace chat::rdv
