// NameIndex: peer-table slots in name order, for lookups by name and user lists that page
// through everyone in order. Slots sit in sorted blocks of at most kMaxBlock; the names stay
// in the table's records and are read through `name_at(slot)`. A lookup is two binary
// searches (blocks by their last name, then one block); an insert or erase moves at most one
// block's entries; paging skips whole blocks. ~6 bytes a peer, where a std::map node with
// its own std::string costs ~80, and no order to rebuild on each listing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace chat::rdv {

class NameIndex {
  public:
    template <typename NameAt>
    std::optional<std::uint32_t> find(std::string_view name, NameAt&& name_at) const {
        const auto [b, i] = locate(name, name_at);
        if (b == blocks_.size() || i == blocks_[b].size() || name_at(blocks_[b][i]) != name)
            return std::nullopt;
        return blocks_[b][i];
    }
    // Adds `slot`, whose name is not in the index yet.
    template <typename NameAt> void insert(std::uint32_t slot, NameAt&& name_at) {
        if (blocks_.empty())
            blocks_.emplace_back();
        auto [b, i] = locate(name_at(slot), name_at);
        if (b == blocks_.size()) { // after every name: at the end of the last block
            b = blocks_.size() - 1;
            i = blocks_[b].size();
        }
        auto& block = blocks_[b];
        block.insert(block.begin() + static_cast<std::ptrdiff_t>(i), slot);
        if (block.size() > kMaxBlock) { // split in two halves
            std::vector<std::uint32_t> upper(block.begin() + kMaxBlock / 2, block.end());
            block.resize(kMaxBlock / 2);
            block.shrink_to_fit();
            blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(b) + 1, std::move(upper));
        }
        ++size_;
    }
    // Removes the slot holding `name`; harmless if there is none.
    template <typename NameAt> void erase(std::string_view name, NameAt&& name_at) {
        const auto [b, i] = locate(name, name_at);
        if (b == blocks_.size() || i == blocks_[b].size() || name_at(blocks_[b][i]) != name)
            return;
        auto& block = blocks_[b];
        block.erase(block.begin() + static_cast<std::ptrdiff_t>(i));
        if (block.empty())
            blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(b));
        --size_;
    }
    std::size_t size() const { return size_; }
    // Calls visit(slot) in name order, from the `from`-th name on, until it returns false.
    template <typename Visit> void visit_from(std::size_t from, Visit&& visit) const {
        for (const auto& block : blocks_) {
            if (from >= block.size()) {
                from -= block.size();
                continue;
            }
            for (std::size_t i = from; i < block.size(); ++i)
                if (!visit(block[i]))
                    return;
            from = 0;
        }
    }

  private:
    // Enough to make an insert cheap (a 2 KiB move at most) and paging quick (~400 blocks
    // for 100,000 peers).
    static constexpr std::size_t kMaxBlock = 512;

    // The first block whose last name is >= name, and the place of the first name >= name
    // in it; {blocks_.size(), 0} if every name is smaller.
    template <typename NameAt>
    std::pair<std::size_t, std::size_t> locate(std::string_view name, NameAt& name_at) const {
        const auto block = std::partition_point(blocks_.begin(), blocks_.end(),
                                                [&](const std::vector<std::uint32_t>& bl) {
                                                    return !bl.empty() && name_at(bl.back()) < name;
                                                });
        if (block == blocks_.end())
            return {blocks_.size(), 0};
        const auto at = std::partition_point(
            block->begin(), block->end(), [&](std::uint32_t slot) { return name_at(slot) < name; });
        return {static_cast<std::size_t>(block - blocks_.begin()),
                static_cast<std::size_t>(at - block->begin())};
    }

    std::vector<std::vector<std::uint32_t>> blocks_; // sorted, none empty (but transiently)
    std::size_t size_ = 0;
};

} // namespace chat::rdv
