// SmallVector: inline up to N, then on the heap, always in insertion order.
#include "rendezvous/small_vector.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace chat::rdv {
namespace {

std::vector<int> items(const SmallVector<int, 2>& v) {
    return {v.begin(), v.end()};
}

TEST(SmallVector, GrowsPastItsInlineCapacityInOrder) {
    SmallVector<int, 2> v;
    for (int i = 1; i <= 5; ++i)
        v.push_back(i);
    EXPECT_EQ(items(v), (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_EQ(v.size(), 5u);
}

TEST(SmallVector, EraseKeepsTheOrderOfTheRest) {
    SmallVector<int, 2> v;
    for (int i = 1; i <= 4; ++i)
        v.push_back(i);
    EXPECT_TRUE(v.erase(2));
    EXPECT_FALSE(v.erase(9));
    EXPECT_EQ(items(v), (std::vector<int>{1, 3, 4}));
}

TEST(SmallVector, CopiesAndMovesAreIndependent) {
    SmallVector<int, 2> small, big;
    small.push_back(1);
    for (int i = 1; i <= 3; ++i)
        big.push_back(i);
    SmallVector<int, 2> a = small, b = big;
    a.push_back(7);
    b.push_back(7);
    EXPECT_EQ(items(small), (std::vector<int>{1}));
    EXPECT_EQ(items(big), (std::vector<int>{1, 2, 3}));
    SmallVector<int, 2> c = std::move(b);
    EXPECT_EQ(items(c), (std::vector<int>{1, 2, 3, 7}));
    c = small;
    EXPECT_EQ(items(c), (std::vector<int>{1}));
    c = std::move(a);
    EXPECT_EQ(items(c), (std::vector<int>{1, 7}));
}

} // namespace
} // namespace chat::rdv
