// NameIndex: lookups, and pages in name order from any offset, through block splits and
// erases, as a sorted std::map from name to slot would give them.
#include "rendezvous/name_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace chat::rdv {
namespace {

TEST(NameIndex, AgreesWithASortedMapUnderRandomChurn) {
    std::mt19937_64 rng{3};
    constexpr std::uint32_t kSlots = 5000;
    std::vector<std::string> names(kSlots);
    for (std::uint32_t s = 0; s < kSlots; ++s)
        names[s] = "n" + std::to_string(rng() % 1'000'000) + "." + std::to_string(s);
    auto name_at = [&](std::uint32_t s) -> std::string_view { return names[s]; };
    NameIndex index;
    std::map<std::string, std::uint32_t> ref;
    for (int step = 0; step < 60'000; ++step) {
        const auto s = static_cast<std::uint32_t>(rng() % kSlots);
        // Mostly inserts at first, mostly erases later: blocks split, then empty out.
        if (!ref.contains(names[s]) && (step < 30'000 || rng() % 3 == 0)) {
            index.insert(s, name_at);
            ref[names[s]] = s;
        } else if (ref.contains(names[s])) {
            index.erase(names[s], name_at);
            ref.erase(names[s]);
        }
        ASSERT_EQ(index.size(), ref.size());
        if (step % 997 == 0) {
            std::vector<std::uint32_t> got;
            index.visit_from(0, [&](std::uint32_t x) {
                got.push_back(x);
                return true;
            });
            std::vector<std::uint32_t> want;
            for (const auto& [name, slot] : ref)
                want.push_back(slot);
            ASSERT_EQ(got, want);
        }
    }
    for (std::uint32_t s = 0; s < kSlots; ++s) {
        const auto found = index.find(names[s], name_at);
        EXPECT_EQ(found.has_value(), ref.contains(names[s]));
    }
}

TEST(NameIndex, PagesStartAtTheirOffsetAndStopWhenAsked) {
    std::vector<std::string> names;
    for (int i = 0; i < 2000; ++i)
        names.push_back("u" + std::to_string(10000 + i)); // sorted as numbers too
    auto name_at = [&](std::uint32_t s) -> std::string_view { return names[s]; };
    NameIndex index;
    for (std::uint32_t s = 2000; s-- > 0;)
        index.insert(s, name_at); // backwards: every insert at the front
    std::vector<std::uint32_t> page;
    index.visit_from(1500, [&](std::uint32_t s) {
        page.push_back(s);
        return page.size() < 3;
    });
    EXPECT_EQ(page, (std::vector<std::uint32_t>{1500, 1501, 1502}));
    EXPECT_EQ(index.find("u11999", name_at), 1999u);
    EXPECT_EQ(index.find("u12000", name_at), std::nullopt);
    EXPECT_EQ(index.find("a", name_at), std::nullopt);
}

} // namespace
} // namespace chat::rdv
