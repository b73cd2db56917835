// Peer deadlines in time order, beside the peer table: a binary min-heap of (key, id), each
// id's place in the heap and its deadline in arrays indexed by its slot (see peer_id.hpp).
// on_tick takes only what is due, so a tick costs as much as the peers that expire, not all
// of them; earliest() is exactly when the shell's timer must fire next; equal deadlines come
// out in id order.
//
// Pushing a deadline later is lazy, because a heartbeat does exactly that and is the hot
// path: it only writes the new deadline beside the slot, and the entry keeps its earlier key
// (a key is never later than its deadline). Only the front entry must be exact, so when an
// entry reaches the front with a stale key it is given its deadline and sifted down then: a
// peer is re-sorted at most once per timeout, however often it pings, and a ping costs one
// array write, no allocation and no O(log n) walk. Moving a deadline earlier sifts at once.
//
// 28 bytes a peer (a 16-byte heap entry, a 4-byte place, an 8-byte deadline), where a
// std::set node plus an unordered_map node cost ~110. The price: ids armed at the same time
// must have distinct slots, as the peer table's ids do.
#pragma once

#include "peer_id.hpp"

#include "proto/time.hpp"

#include <cassert>
#include <cstdint>
#include <optional>
#include <vector>

namespace chat::rdv {

class ExpiryIndex {
  public:
    void arm(PeerId id, Time deadline) { // a first sighting or a refresh
        const std::uint32_t s = slot_of(id);
        if (s < deadlines_.size() && deadlines_[s] != kUnarmed && deadline >= deadlines_[s] &&
            heap_.front().id != id) {
            deadlines_[s] = deadline; // lazy: its key stays earlier until it reaches the front
            return;
        }
        if (s >= places_.size()) {
            places_.resize(std::size_t{s} + 1, kNone);
            deadlines_.resize(std::size_t{s} + 1, kUnarmed);
        }
        deadlines_[s] = deadline;
        if (places_[s] == kNone) {
            places_[s] = static_cast<std::uint32_t>(heap_.size());
            heap_.push_back(Entry{deadline, id});
            sift_up(places_[s]);
        } else {
            Entry& e = heap_[places_[s]];
            assert(e.id == id); // else two armed ids share a slot
            const Entry was = e;
            e.deadline = deadline;
            if (e < was)
                sift_up(places_[s]);
            else
                sift_down(places_[s]);
        }
        settle_front();
    }
    void disarm(PeerId id) { // a peer that leaves; harmless if not armed
        const std::uint32_t s = slot_of(id);
        if (s >= places_.size() || places_[s] == kNone)
            return;
        assert(heap_[places_[s]].id == id);
        remove_at(places_[s]);
        deadlines_[s] = kUnarmed;
        settle_front();
    }
    std::optional<Time> earliest() const {
        return heap_.empty() ? std::nullopt : std::optional{heap_.front().deadline};
    }
    std::vector<PeerId> take_due(Time now) { // oldest deadline first
        std::vector<PeerId> due;
        while (!heap_.empty() && heap_.front().deadline <= now) {
            due.push_back(heap_.front().id);
            deadlines_[slot_of(heap_.front().id)] = kUnarmed;
            remove_at(0);
            settle_front();
        }
        return due;
    }
    std::size_t size() const { return heap_.size(); }

  private:
    struct Entry {
        Time deadline; // the key: the id's deadline, or earlier if it moved later since
        PeerId id;
        friend bool operator<(const Entry& a, const Entry& b) {
            return a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id;
        }
    };
    static constexpr std::uint32_t kNone = 0xffff'ffffu;
    static constexpr Time kUnarmed = Time::min();
    // Gives the front entry its real deadline until the front is exact.
    void settle_front() {
        while (!heap_.empty() && heap_.front().deadline < deadlines_[slot_of(heap_.front().id)]) {
            heap_.front().deadline = deadlines_[slot_of(heap_.front().id)];
            sift_down(0);
        }
    }
    void put(std::size_t i, const Entry& e) {
        heap_[i] = e;
        places_[slot_of(e.id)] = static_cast<std::uint32_t>(i);
    }
    void sift_up(std::size_t i) {
        const Entry e = heap_[i];
        while (i > 0 && e < heap_[(i - 1) / 2]) {
            put(i, heap_[(i - 1) / 2]);
            i = (i - 1) / 2;
        }
        put(i, e);
    }
    void sift_down(std::size_t i) {
        const Entry e = heap_[i];
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= heap_.size())
                break;
            if (child + 1 < heap_.size() && heap_[child + 1] < heap_[child])
                ++child;
            if (!(heap_[child] < e))
                break;
            put(i, heap_[child]);
            i = child;
        }
        put(i, e);
    }
    void remove_at(std::size_t i) {
        places_[slot_of(heap_[i].id)] = kNone;
        const Entry last = heap_.back();
        heap_.pop_back();
        if (i == heap_.size())
            return;
        put(i, last);
        sift_up(i);
        sift_down(places_[slot_of(last.id)]);
    }

    std::vector<Entry> heap_;
    std::vector<std::uint32_t> places_; // by slot: index into heap_, or kNone
    std::vector<Time> deadlines_;       // by slot: the deadline (>= the entry's key), or kUnarmed
};

} // namespace chat::rdv
