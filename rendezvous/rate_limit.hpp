// Token buckets: one per registered session (datagrams in, and bytes out for plain-text
// clients), and a bounded LRU table of buckets for sources without a session, so a flood
// from many addresses costs a fixed amount of memory. A bucket keeps only its level; the
// rate it refills at is its owner's (BucketRate), the same for every bucket of a kind.
#pragma once

#include "keyed_hash.hpp"

#include "proto/endpoint.hpp"
#include "proto/time.hpp"

#include <algorithm>
#include <list>
#include <unordered_map>
#include <utility>

namespace chat::rdv {

// How fast a kind of bucket refills and how much it holds. Every bucket of a kind shares
// one, kept by its owner and passed in, so a bucket is 16 bytes: one per registered peer.
struct BucketRate {
    double per_second = 0;
    double burst = 0;
};

class TokenBucket {
  public:
    TokenBucket() = default;
    TokenBucket(const BucketRate& rate, Time now) : tokens_(rate.burst), last_(now) {}

    // Takes `cost` tokens if the bucket has them; `now` must not go back.
    bool try_take(const BucketRate& rate, Time now, double cost = 1.0) {
        refill(rate, now);
        if (tokens_ < cost)
            return false;
        tokens_ -= cost;
        return true;
    }

  private:
    void refill(const BucketRate& rate, Time now) {
        if (now <= last_)
            return;
        const double seconds = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(rate.burst, tokens_ + seconds * rate.per_second);
        last_ = now;
    }
    double tokens_ = 0;
    Time last_{};
};

// Buckets for sources without a session, at most `capacity` of them: the least recently
// seen source is forgotten first (it then starts again with a full bucket, which is fine:
// an attacker cycling addresses is bounded by the table's churn, not given more memory).
class SourceLimiter {
  public:
    SourceLimiter(std::size_t capacity, double per_second, double burst,
                  const KeyedHash& hash = KeyedHash{})
        : capacity_(capacity), rate_{per_second, burst}, index_(16, EndpointKeyedHash{hash}) {}

    bool allow(const proto::Endpoint& from, Time now) {
        auto it = index_.find(from);
        if (it == index_.end()) {
            if (lru_.size() >= capacity_) {
                index_.erase(lru_.back().first);
                lru_.pop_back();
            }
            lru_.emplace_front(from, TokenBucket(rate_, now));
            it = index_.emplace(from, lru_.begin()).first;
        } else {
            lru_.splice(lru_.begin(), lru_, it->second);
        }
        return it->second->second.try_take(rate_, now);
    }
    void forget(const proto::Endpoint& from) {
        if (auto it = index_.find(from); it != index_.end()) {
            lru_.erase(it->second);
            index_.erase(it);
        }
    }
    std::size_t size() const { return lru_.size(); }

  private:
    using Entry = std::pair<proto::Endpoint, TokenBucket>;
    std::size_t capacity_;
    BucketRate rate_;
    std::list<Entry> lru_;
    // Keyed: the sources are the attacker's choice.
    std::unordered_map<proto::Endpoint, std::list<Entry>::iterator, EndpointKeyedHash> index_;
};

} // namespace chat::rdv
