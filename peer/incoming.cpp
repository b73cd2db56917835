// See incoming.hpp.
#include "incoming.hpp"

#include "proto/limits.hpp"

#include <algorithm>
#include <tuple>

namespace chat::peer {
namespace {

void mark_late(UiEvent& e) {
    if (auto* m = std::get_if<ui::Message>(&e))
        m->late = true;
    else if (auto* d = std::get_if<ui::Direct>(&e))
        d->late = true;
}

} // namespace

IncomingLines::Stream& IncomingLines::stream_for(const Key& key, Time now) {
    auto it = streams_.find(key);
    if (it == streams_.end()) {
        if (streams_.size() >= kMaxStreams) {
            const auto oldest = std::min_element(
                streams_.begin(), streams_.end(),
                [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
            held_total_ -= oldest->second.held.size();
            streams_.erase(oldest);
        }
        it = streams_.emplace(key, Stream{}).first;
    }
    it->second.used = now;
    return it->second;
}

void IncomingLines::on_line(const std::string& author, const std::string& stream,
                            const proto::Stamp& st, UiEvent line, Time now,
                            std::vector<UiEvent>& show) {
    Stream& s = stream_for(Key{author, st.inst, stream}, now);
    if (s.next == 0)
        s.next = st.lo; // a new stream: everything below lo is settled, nothing to wait for
    if (st.n < s.next) {
        if (s.skipped.erase(st.n) != 0) { // given up on, and here it is: late, not lost
            ++late_;
            mark_late(line);
            show.push_back(std::move(line));
        } else {
            ++duplicates_;
        }
    } else if (!s.held.emplace(st.n, Held{std::move(line), now}).second) {
        ++duplicates_;
    } else {
        ++held_total_;
    }
    settle_below(s, st.lo, show);
    show_ready(s, show);
    if (s.held.size() > kMaxHeld || held_total_ > kMaxHeldTotal)
        release_all(s, show);
}

void IncomingLines::settle_below(Stream& s, std::uint32_t lo, std::vector<UiEvent>& show) {
    // Every n below lo is settled at the author: a missing one is never coming.
    while (s.next < lo) {
        if (auto it = s.held.find(s.next); it != s.held.end()) {
            show.push_back(std::move(it->second.line));
            s.held.erase(it);
            --held_total_;
        } else {
            remember_skipped(s, s.next);
        }
        ++s.next;
    }
}

void IncomingLines::show_ready(Stream& s, std::vector<UiEvent>& show) {
    for (auto it = s.held.begin(); it != s.held.end() && it->first == s.next;) {
        show.push_back(std::move(it->second.line));
        it = s.held.erase(it);
        --held_total_;
        ++s.next;
    }
}

void IncomingLines::release_all(Stream& s, std::vector<UiEvent>& show) {
    // Give up on every gap below the held lines and show them, oldest first.
    while (!s.held.empty()) {
        const std::uint32_t first = s.held.begin()->first;
        for (; s.next < first; ++s.next)
            remember_skipped(s, s.next);
        show_ready(s, show);
    }
}

void IncomingLines::remember_skipped(Stream& s, std::uint32_t n) {
    s.skipped.insert(n);
    if (s.skipped.size() > kMaxSkipped)
        s.skipped.erase(s.skipped.begin());
}

void IncomingLines::on_tick(Time now, std::vector<UiEvent>& show) {
    for (auto& [key, s] : streams_) {
        if (s.held.empty())
            continue;
        const auto oldest =
            std::min_element(s.held.begin(), s.held.end(), [](const auto& a, const auto& b) {
                return a.second.arrived < b.second.arrived;
            });
        if (now >= oldest->second.arrived + kHoldAtMost)
            release_all(s, show);
    }
}

std::optional<Time> IncomingLines::next_wakeup() const {
    std::optional<Time> wake;
    for (const auto& [key, s] : streams_)
        for (const auto& [n, h] : s.held)
            if (!wake || h.arrived + kHoldAtMost < *wake)
                wake = h.arrived + kHoldAtMost;
    return wake;
}

void IncomingLines::forget_stream(const std::string& stream) {
    std::erase_if(streams_, [&](const auto& entry) {
        if (std::get<2>(entry.first) != stream)
            return false;
        held_total_ -= entry.second.held.size();
        return true;
    });
}

void PendingAcks::add(proto::DeliveryId d, Time now) {
    ids_.push_back(d);
    if (!due_)
        due_ = now + kDelay;
    if (ids_.size() >= proto::kMaxAcksPerGot)
        due_ = now;
}

std::vector<proto::DeliveryId> PendingAcks::take_due(Time now) {
    if (!due_ || now < *due_)
        return {};
    const std::size_t n = std::min(ids_.size(), proto::kMaxAcksPerGot);
    std::vector<proto::DeliveryId> batch(ids_.begin(), ids_.begin() + static_cast<long>(n));
    ids_.erase(ids_.begin(), ids_.begin() + static_cast<long>(n));
    due_ = ids_.empty() ? std::nullopt : std::optional<Time>(now);
    return batch;
}

bool PendingAcks::seen_before(proto::DeliveryId d) {
    constexpr std::size_t kRemembered = 256;
    if (!recent_.insert(d).second)
        return true;
    if (recent_.size() > kRemembered)
        recent_.erase(recent_.begin());
    return false;
}

} // namespace chat::peer
