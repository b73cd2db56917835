// Reliable fan-out; see delivery.hpp. Invariants: a Member record with a live flight is
// counted in active_members_, and due_ holds its earliest deadline (an idle one is not armed);
// a Line exists while it has a flight, or while it is being fanned out; delivering_ holds
// exactly the live lines whose author is still owed the ok. A delivery ends in one of three
// ways, each calling release() once: acked, given up at its deadline, given up because the
// member's session ended.
#include "delivery.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>

namespace chat::rdv {

std::string with_delivery_id(std::string_view json, proto::DeliveryId d) {
    std::string out;
    out.reserve(json.size() + kDeliveryIdBytes);
    append_with_delivery_id(out, json, d);
    return out;
}

void append_with_delivery_id(std::string& out, std::string_view json, proto::DeliveryId d) {
    assert(!json.empty() && json.back() == '}');
    char splice[kDeliveryIdBytes + 1] = {',', '"', 'd', '"', ':'}; // and the closing brace
    char* end = std::to_chars(splice + 5, splice + sizeof splice - 1, d).ptr;
    *end++ = '}';
    out.append(json.data(), json.size() - 1);
    out.append(splice, static_cast<std::size_t>(end - splice));
}

// ---------------------------------------------------------------- author side

Deliveries::Status Deliveries::status(PeerId author, proto::RequestId id) const {
    if (delivering_.contains(AuthorRequest{author, id}))
        return Status::Delivering;
    if (const auto it = recent_.find(author); it != recent_.end())
        if (std::find(it->second.ids.begin(), it->second.ids.end(), id) != it->second.ids.end())
            return Status::Finished;
    return Status::New;
}

Deliveries::Fanout Deliveries::open_line(std::optional<AuthorRequest> request,
                                         const std::string& json, std::vector<std::string> unknown,
                                         bool reliable) {
    Fanout f{request, reliable, std::nullopt, std::move(unknown)};
    if (!reliable || lines_.size() >= limits_.lines)
        return f; // at the bound: every add() counts an unreliable send
    const LineId id = next_line_++;
    lines_.emplace(id, Line{request, json, {}, 0});
    if (request)
        delivering_.emplace(*request, id);
    f.line = id;
    return f;
}

std::optional<proto::DeliveryId> Deliveries::add(Fanout& f, PeerId member, Time now) {
    if (!f.reliable)
        return std::nullopt;
    if (!f.line || in_flight_ >= limits_.in_all || limits_.per_member == 0) {
        ++counters_.unreliable;
        return std::nullopt;
    }
    Member& m = member_record(member);
    const bool fresh = m.live == 0;
    if (m.live >= limits_.per_member) {
        ++counters_.unreliable;
        return std::nullopt;
    }
    const proto::DeliveryId d = next_d_;
    next_d_ = next_d_ == UINT32_MAX ? 1 : next_d_ + 1;
    m.flights.push_back(Flight{*f.line, d, 1, now, {}});
    ++m.live;
    active_members_ += fresh ? 1 : 0;
    ++f.added;
    ++in_flight_;
    ++counters_.reliable;
    // Sent once, it waits the current RTO like every older one sent once: it is due first
    // only if the member had nothing else, or only resent deliveries due later.
    const Time due = due_of(m, m.flights.back());
    if (fresh || due < m.armed) {
        m.armed = due;
        due_.arm(member, due);
    }
    return d;
}

void Deliveries::close_line(Fanout&& f, Time now, Output& out) {
    if (f.line) {
        const auto it = lines_.find(*f.line);
        assert(it != lines_.end());
        if (f.added > 0) { // the ok waits for the members
            it->second.pending = f.added;
            it->second.unknown = std::move(f.unknown);
            return;
        }
        lines_.erase(it);
        if (f.request)
            delivering_.erase(*f.request);
    }
    if (f.request) { // nobody to wait for: ok at once
        remember_finished(*f.request, now);
        out.done.push_back(Done{*f.request, std::move(f.unknown)});
    }
}

// ---------------------------------------------------------------- member side

void Deliveries::on_got(PeerId member, std::span<const proto::DeliveryId> ids, Time now,
                        Output& out) {
    Member* const found = find_member(member);
    if (found == nullptr || found->live == 0)
        return;
    Member& m = *found;
    for (const proto::DeliveryId d : ids) {
        Flight* f = find(m, d);
        if (f == nullptr)
            continue;      // a duplicate ack, or one for a delivery already given up
        if (f->sends == 1) // Karn: a resent delivery's ack could answer either send
            m.rtt.sample(now - f->first_sent);
        else
            --m.resent;
        const LineId line = f->line;
        f->line = 0;
        --m.live;
        --in_flight_;
        ++counters_.acked;
        release(line, now, out);
    }
    settle(member, m);
}

void Deliveries::on_tick(Time now, Output& out) {
    for (const PeerId id : due_.take_due(now)) {
        Member* const found = find_member(id);
        if (found == nullptr || found->live == 0)
            continue;
        Member& m = *found;
        for (std::size_t i = m.head; i < m.flights.size(); ++i) {
            Flight& f = m.flights[i];
            if (f.line == 0 || due_of(m, f) > now)
                continue;
            if (now >= f.first_sent + proto::kDeliveryDeadline) {
                if (f.sends > 1)
                    --m.resent;
                const LineId line = f.line;
                f.line = 0;
                --m.live;
                --in_flight_;
                ++counters_.given_up;
                release(line, now, out);
                continue;
            }
            if (f.sends == 1)
                ++m.resent;
            ++f.sends;
            ++counters_.resent;
            // Later than now: the backoff is at least kRtoMin.
            f.due = std::min(now + m.rtt.backoff(f.sends), f.first_sent + proto::kDeliveryDeadline);
            out.resends.push_back(Resend{id, with_delivery_id(lines_.at(f.line).json, f.d)});
        }
        m.armed = Time::min(); // take_due dropped its deadline: settle arms the next one
        settle(id, m);
    }
    for (const PeerId author : recent_expiry_.take_due(now))
        recent_.erase(author);
}

std::optional<Time> Deliveries::next_deadline() const {
    const auto a = due_.earliest();
    const auto b = recent_expiry_.earliest();
    if (!a || !b)
        return a ? a : b;
    return std::min(*a, *b);
}

// ---------------------------------------------------------------- sessions

void Deliveries::end_session(PeerId id, Time now, Output& out) {
    // As an author first, so a line it sent to itself owes nobody an ok.
    for (auto it = delivering_.lower_bound(AuthorRequest{id, 0});
         it != delivering_.end() && it->first.author == id;) {
        lines_.at(it->second).request.reset();
        it = delivering_.erase(it);
    }
    recent_.erase(id);
    recent_expiry_.disarm(id);
    Member* const m = find_member(id);
    if (m == nullptr)
        return;
    for (const Flight& f : m->flights) {
        if (f.line == 0)
            continue;
        --in_flight_;
        ++counters_.given_up;
        release(f.line, now, out);
    }
    if (m->live > 0) {
        --active_members_;
        due_.disarm(id);
    }
    *m = Member{}; // frees its flights; id 0 marks the record free
}

// ---------------------------------------------------------------- helpers

Time Deliveries::due_of(const Member& m, const Flight& f) {
    if (f.sends > 1)
        return f.due;
    return f.first_sent + std::min(m.rtt.rto(), proto::kDeliveryDeadline); // backoff(1) is rto
}

Time Deliveries::earliest(const Member& m) {
    // Deliveries sent once share the current RTO, so the first of them in d order (send
    // order) is due first; resent ones each have their own time. Without losses: O(1).
    std::optional<Time> best;
    bool once_seen = false;
    std::uint32_t resent_seen = 0;
    for (std::size_t i = m.head; i < m.flights.size(); ++i) {
        const Flight& f = m.flights[i];
        if (f.line == 0 || (f.sends == 1 && once_seen))
            continue;
        const Time due = due_of(m, f);
        best = best ? std::min(*best, due) : due;
        if (f.sends == 1)
            once_seen = true;
        else
            ++resent_seen;
        if (once_seen && resent_seen == m.resent)
            break;
    }
    assert(best);
    return *best;
}

Deliveries::Flight* Deliveries::find(Member& m, proto::DeliveryId d) {
    // d order is serial-number order (RFC 1982): ids are compared by their distance from
    // the first, so the server-wide counter's wrap keeps them sorted.
    const proto::DeliveryId base = m.flights[m.head].d;
    const auto first = m.flights.begin() + static_cast<std::ptrdiff_t>(m.head);
    const auto it = std::lower_bound(first, m.flights.end(), d - base,
                                     [base](const Flight& f, proto::DeliveryId key) {
                                         return static_cast<proto::DeliveryId>(f.d - base) < key;
                                     });
    if (it == m.flights.end() || it->d != d || it->line == 0)
        return nullptr;
    return &*it;
}

Deliveries::Member* Deliveries::find_member(PeerId id) {
    const std::uint32_t s = slot_of(id);
    return s < members_.size() && members_[s].id == id ? &members_[s] : nullptr;
}

Deliveries::Member& Deliveries::member_record(PeerId id) {
    const std::uint32_t s = slot_of(id);
    if (s >= members_.size())
        members_.resize(std::size_t{s} + 1);
    Member& m = members_[s];
    if (m.id != id) { // free, or (not expected: end_session frees it) an older session's
        assert(m.live == 0);
        if (m.live > 0) {
            --active_members_;
            due_.disarm(m.id);
        }
        m = Member{};
        m.id = id;
    }
    return m;
}

void Deliveries::go_idle(PeerId id, Member& m) {
    due_.disarm(id);
    --active_members_;
    m.head = 0;
    m.resent = 0;
    m.armed = Time{};
    if (m.flights.capacity() > kIdleFlights)
        m.flights = {}; // a burst's buffer is not kept for good
    else
        m.flights.clear();
}

void Deliveries::settle(PeerId id, Member& m) {
    if (m.live == 0) {
        go_idle(id, m);
        return;
    }
    while (m.flights[m.head].line == 0)
        ++m.head;
    if (m.flights.size() - m.live > m.live + kSlack) { // O(1) amortised: > live holes go
        std::erase_if(m.flights, [](const Flight& f) { return f.line == 0; });
        m.head = 0;
    }
    if (const Time next = earliest(m); next != m.armed) {
        m.armed = next;
        due_.arm(id, next);
    }
}

void Deliveries::release(LineId id, Time now, Output& out) {
    const auto it = lines_.find(id);
    assert(it != lines_.end() && it->second.pending > 0);
    Line& line = it->second;
    if (--line.pending > 0)
        return;
    if (line.request) {
        delivering_.erase(*line.request);
        remember_finished(*line.request, now);
        out.done.push_back(Done{*line.request, std::move(line.unknown)});
    }
    lines_.erase(it);
}

void Deliveries::remember_finished(const AuthorRequest& r, Time now) {
    Recent& rec = recent_[r.author];
    if (rec.ids.size() < kFinishedIdsKept) {
        rec.ids.push_back(r.id);
    } else {
        rec.ids[rec.next] = r.id;
        rec.next = (rec.next + 1) % kFinishedIdsKept;
    }
    recent_expiry_.arm(r.author, now + kFinishedKeptFor);
}

} // namespace chat::rdv
