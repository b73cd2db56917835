// SlotIndex: finds each key's slot through collisions (here: deliberately few hash values),
// backward-shift erases and rehashing, as a std::map from key to slot would.
#include "rendezvous/slot_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace chat::rdv {
namespace {

TEST(SlotIndex, AgreesWithAReferenceMapUnderRandomChurn) {
    std::mt19937_64 rng{11};
    constexpr std::uint32_t kKeys = 4000;
    std::vector<std::uint32_t> key_of_slot(kKeys); // slot s holds key key_of_slot[s]
    std::map<std::uint32_t, std::uint32_t> ref;    // key -> slot
    SlotIndex index;
    auto hash = [](std::uint32_t key) { return std::uint64_t{key % 97}; }; // many collisions
    for (int step = 0; step < 100'000; ++step) {
        const auto key = static_cast<std::uint32_t>(rng() % kKeys);
        const auto found =
            index.find(hash(key), [&](std::uint32_t s) { return key_of_slot[s] == key; });
        const auto it = ref.find(key);
        ASSERT_EQ(found.has_value(), it != ref.end());
        if (found) {
            EXPECT_EQ(*found, it->second);
            index.erase(hash(key), it->second);
            ref.erase(it);
        } else {
            const auto slot = key; // any free slot will do; the key's own is free
            key_of_slot[slot] = key;
            index.insert(hash(key), slot);
            ref[key] = slot;
        }
        ASSERT_EQ(index.size(), ref.size());
    }
}

} // namespace
} // namespace chat::rdv
