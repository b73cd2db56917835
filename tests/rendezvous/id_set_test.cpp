// IdSet: the same answers as std::unordered_set through growth, backward-shift erases and
// shrinking, on a seeded random mix of inserts and erases.
#include "rendezvous/id_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

namespace chat::rdv {
namespace {

TEST(IdSet, AgreesWithAReferenceSetUnderRandomInsertsAndErases) {
    std::mt19937_64 rng{7};
    IdSet set;
    std::set<PeerId> ref;
    for (int step = 0; step < 200'000; ++step) {
        // Ids from a small range collide often; the phase makes the set grow, then shrink.
        const PeerId id = make_peer_id(static_cast<std::uint32_t>(rng() % 5000), 1);
        const bool growing = (step / 50'000) % 2 == 0;
        if (rng() % 4 != 0 ? growing : !growing)
            EXPECT_EQ(set.insert(id), ref.insert(id).second);
        else
            EXPECT_EQ(set.erase(id), ref.erase(id) == 1);
        ASSERT_EQ(set.size(), ref.size());
    }
    std::vector<PeerId> all(set.begin(), set.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, std::vector<PeerId>(ref.begin(), ref.end()));
    for (PeerId id = 1; id < 100; ++id)
        EXPECT_EQ(set.contains(make_peer_id(static_cast<std::uint32_t>(id), 1)),
                  ref.contains(make_peer_id(static_cast<std::uint32_t>(id), 1)));
}

TEST(IdSet, AnEmptiedSetIsEmptyAndIteratesNothing) {
    IdSet set;
    for (PeerId id = 1; id <= 1000; ++id)
        set.insert(id);
    for (PeerId id = 1; id <= 1000; ++id)
        EXPECT_TRUE(set.erase(id));
    EXPECT_TRUE(set.empty());
    EXPECT_EQ(set.begin(), set.end());
    EXPECT_FALSE(set.erase(1));
}

} // namespace
} // namespace chat::rdv
