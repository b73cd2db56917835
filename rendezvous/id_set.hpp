// IdSet: a set of PeerIds in one flat array (open addressing, linear_probing.hpp): a room's
// members. 8 bytes a slot at most 7/8 full, so ~10 bytes a member, where a std::unordered_set
// node and its bucket cost ~40 and an allocation each. Erasing shifts the probe chain back
// (no tombstones), and the array halves when it falls below 1/8 full, so a lobby that 100,000
// peers have left gives its memory back. Iteration order is the table's: unspecified, as an
// unordered_set's was.
#pragma once

#include "linear_probing.hpp"
#include "peer_id.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

namespace chat::rdv {

class IdSet {
  public:
    bool insert(PeerId id) { // false if already there
        if (linear_probing::must_grow(size_ + 1, slots_.size()))
            rehash(slots_.empty() ? kMinSlots : 2 * slots_.size());
        std::size_t i = home(id);
        for (; slots_[i] != kEmpty; i = next(i))
            if (slots_[i] == id)
                return false;
        slots_[i] = id;
        ++size_;
        return true;
    }
    bool erase(PeerId id) { // false if not there
        if (slots_.empty())
            return false;
        std::size_t i = home(id);
        for (; slots_[i] != id; i = next(i))
            if (slots_[i] == kEmpty)
                return false;
        linear_probing::erase_at(
            slots_, i, kEmpty, [this](PeerId e) { return home(e); },
            [](PeerId e) { return e == kEmpty; });
        --size_;
        if (linear_probing::may_shrink(size_, slots_.size(), kMinSlots))
            rehash(slots_.size() / 2);
        return true;
    }
    bool contains(PeerId id) const {
        if (slots_.empty())
            return false;
        for (std::size_t i = home(id); slots_[i] != kEmpty; i = next(i))
            if (slots_[i] == id)
                return true;
        return false;
    }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = PeerId;
        using difference_type = std::ptrdiff_t;
        using pointer = const PeerId*;
        using reference = const PeerId&;

        const_iterator() = default;
        const PeerId& operator*() const { return *at_; }
        const_iterator& operator++() {
            ++at_;
            skip();
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator was = *this;
            ++*this;
            return was;
        }
        friend bool operator==(const const_iterator&, const const_iterator&) = default;

      private:
        friend class IdSet;
        const_iterator(const PeerId* at, const PeerId* end) : at_(at), end_(end) { skip(); }
        void skip() {
            while (at_ != end_ && *at_ == kEmpty)
                ++at_;
        }
        const PeerId* at_ = nullptr;
        const PeerId* end_ = nullptr;
    };
    const_iterator begin() const { return {slots_.data(), slots_.data() + slots_.size()}; }
    const_iterator end() const {
        return {slots_.data() + slots_.size(), slots_.data() + slots_.size()};
    }

  private:
    static constexpr PeerId kEmpty = 0; // no PeerId is 0
    static constexpr std::size_t kMinSlots = 8;

    std::size_t home(PeerId id) const { // Fibonacci hashing: the top bits of id * 2^64/phi
        return static_cast<std::size_t>((id * 0x9e37'79b9'7f4a'7c15u) >> shift_);
    }
    std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }
    void rehash(std::size_t slots) { // a power of two
        std::vector<PeerId> old(slots, kEmpty);
        old.swap(slots_);
        shift_ = 64;
        for (std::size_t n = slots; n > 1; n /= 2)
            --shift_;
        for (const PeerId id : old)
            if (id != kEmpty) {
                std::size_t i = home(id);
                while (slots_[i] != kEmpty)
                    i = next(i);
                slots_[i] = id;
            }
    }

    std::vector<PeerId> slots_; // kEmpty or a member; empty, or a power of two >= kMinSlots
    std::size_t size_ = 0;
    unsigned shift_ = 64; // 64 - log2(slots_.size())
};

} // namespace chat::rdv
