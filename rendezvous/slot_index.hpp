// SlotIndex: a hash index from a key to a peer-table slot, where the keys stay in the
// table's records. Each entry is the key's 32-bit hash and the slot (8 bytes), in one flat
// array at most 7/8 full (open addressing, linear_probing.hpp): ~10 bytes a peer, where a
// std::unordered_map node keeping its own copy of the key costs ~60 and an allocation. A
// lookup compares hashes first, so it reads a record only on a likely match. The peer table
// indexes endpoints with it: the first lookup of every datagram.
#pragma once

#include "linear_probing.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace chat::rdv {

class SlotIndex {
  public:
    // The slot whose record holds the key: `hash` is the key's hash, `is_key(slot)` compares
    // that record's key with it.
    template <typename IsKey>
    std::optional<std::uint32_t> find(std::uint64_t hash, IsKey&& is_key) const {
        if (entries_.empty())
            return std::nullopt;
        const auto h = fold(hash);
        for (std::size_t i = home(h); entries_[i].slot != kEmpty; i = next(i))
            if (entries_[i].hash == h && is_key(entries_[i].slot))
                return entries_[i].slot;
        return std::nullopt;
    }
    // Adds a slot whose key is not in the index yet.
    void insert(std::uint64_t hash, std::uint32_t slot) {
        if (linear_probing::must_grow(size_ + 1, entries_.size()))
            rehash(entries_.empty() ? kMinEntries : 2 * entries_.size());
        place(Entry{fold(hash), slot});
        ++size_;
    }
    // Removes `slot`, indexed under `hash`; harmless if it is not there.
    void erase(std::uint64_t hash, std::uint32_t slot) {
        if (entries_.empty())
            return;
        std::size_t i = home(fold(hash));
        for (; entries_[i].slot != slot; i = next(i))
            if (entries_[i].slot == kEmpty)
                return;
        linear_probing::erase_at(
            entries_, i, Entry{}, [this](const Entry& e) { return home(e.hash); },
            [](const Entry& e) { return e.slot == kEmpty; });
        --size_;
        if (linear_probing::may_shrink(size_, entries_.size(), kMinEntries))
            rehash(entries_.size() / 2);
    }
    std::size_t size() const { return size_; }

  private:
    struct Entry {
        std::uint32_t hash = 0;
        std::uint32_t slot = kEmpty;
    };
    static constexpr std::uint32_t kEmpty = 0xffff'ffffu;
    static constexpr std::size_t kMinEntries = 16;

    static std::uint32_t fold(std::uint64_t hash) { // mixed, so any input hash spreads well
        return static_cast<std::uint32_t>((hash * 0x9e37'79b9'7f4a'7c15u) >> 32);
    }
    std::size_t home(std::uint32_t h) const { return h & (entries_.size() - 1); }
    std::size_t next(std::size_t i) const { return (i + 1) & (entries_.size() - 1); }
    void place(const Entry& e) {
        std::size_t i = home(e.hash);
        while (entries_[i].slot != kEmpty)
            i = next(i);
        entries_[i] = e;
    }
    void rehash(std::size_t entries) { // a power of two; the stored hashes need no recomputing
        std::vector<Entry> old(entries);
        old.swap(entries_);
        for (const Entry& e : old)
            if (e.slot != kEmpty)
                place(e);
    }

    std::vector<Entry> entries_; // empty, or a power of two >= kMinEntries
    std::size_t size_ = 0;
};

} // namespace chat::rdv
