// Peer deadlines in time order, beside the peer table. A heartbeat moves one deadline in
// O(log n); on_tick takes only what is due, so a tick costs as much as the peers that
// expire, not all of them; earliest() is exactly when the shell's timer must fire next.
#pragma once

#include "peer_id.hpp"

#include "proto/time.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chat::rdv {

class ExpiryIndex {
  public:
    void arm(PeerId id, Time deadline) { // a first sighting or a refresh
        disarm(id);
        by_id_[id] = by_time_.emplace(deadline, id).first;
    }
    void disarm(PeerId id) { // a peer that leaves
        if (auto it = by_id_.find(id); it != by_id_.end()) {
            by_time_.erase(it->second);
            by_id_.erase(it);
        }
    }
    std::optional<Time> earliest() const {
        return by_time_.empty() ? std::nullopt : std::optional{by_time_.begin()->first};
    }
    std::vector<PeerId> take_due(Time now) { // oldest deadline first
        std::vector<PeerId> due;
        for (auto it = by_time_.begin(); it != by_time_.end() && it->first <= now;) {
            due.push_back(it->second);
            by_id_.erase(it->second);
            it = by_time_.erase(it);
        }
        return due;
    }
    std::size_t size() const { return by_id_.size(); }

  private:
    std::set<std::pair<Time, PeerId>> by_time_;
    std::unordered_map<PeerId, decltype(by_time_)::iterator> by_id_;
};

} // namespace chat::rdv
