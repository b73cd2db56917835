// What IdSet and SlotIndex share: open addressing with linear probing in a power-of-two
// array, kept between 1/8 and 7/8 full, and erased by backward shift (Knuth's Algorithm R,
// TAOCP 6.4), so there are no tombstones and lookups never slow down with churn. The subtle
// part, which entries may move into the hole, lives here once.
#pragma once

#include <cstddef>
#include <vector>

namespace chat::rdv::linear_probing {

// Grow (double) before an insert would make it more than 7/8 full.
inline bool must_grow(std::size_t size_after_insert, std::size_t capacity) {
    return size_after_insert * 8 > capacity * 7;
}
// Halve once under 1/8 full, but never below `min_capacity`.
inline bool may_shrink(std::size_t size, std::size_t capacity, std::size_t min_capacity) {
    return capacity > min_capacity && size * 8 < capacity;
}

// Empties table[i]: every later entry of its probe chain whose home is not between the hole
// and itself moves up into the hole, which then moves on. `home_of(entry)` is an entry's
// home index, `is_empty(entry)` tells a free cell; `empty` is what a free cell holds.
template <typename T, typename HomeOf, typename IsEmpty>
void erase_at(std::vector<T>& table, std::size_t i, const T& empty, HomeOf&& home_of,
              IsEmpty&& is_empty) {
    const std::size_t mask = table.size() - 1;
    for (std::size_t j = (i + 1) & mask; !is_empty(table[j]); j = (j + 1) & mask) {
        const std::size_t h = home_of(table[j]);
        if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) { // j's entry may fill the hole
            table[i] = table[j];
            i = j;
        }
    }
    table[i] = empty;
}

} // namespace chat::rdv::linear_probing
