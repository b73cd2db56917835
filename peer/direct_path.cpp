// DirectPath; see direct_path.hpp. The flow: punch every candidate each probe_every until
// one answers (an ack to a probe we sent to that very endpoint proves both directions),
// settle briefly so a LAN path can win, then keep the chosen path alive with one probe per
// keepalive_every. Silence for dead_after means relayed again, and (on the side that asked
// for the connection) a fresh exchange through the rendezvous, so both sides punch at once.
#include "direct_path.hpp"

#include "proto/codec.hpp"

#include <algorithm>

namespace chat::peer {
namespace {

constexpr std::size_t kMaxInFlight = 64; // probes remembered for RTT

} // namespace

DirectPath::DirectPath(std::string self, const proto::PeerInfo& info, const PathConfig& cfg,
                       Time now, PathOutput& out)
    : self_(std::move(self)), remote_(info.name), cfg_(cfg) {
    restart(info, now, out);
}

bool DirectPath::may_restart(Time now) const {
    const auto recent = std::count_if(exchanges_.begin(), exchanges_.end(),
                                      [&](Time t) { return now - t < cfg_.exchange_window; });
    return static_cast<std::size_t>(recent) < cfg_.max_exchanges;
}

bool DirectPath::is_probeable(const proto::Endpoint& e, bool is_private, bool allow_loopback) {
    if (e.port() == 0 || !e.is_unicast())
        return false;
    if (e.is_loopback())
        return allow_loopback;
    return !is_private || e.is_lan();
}

bool DirectPath::first_sight_of_text(std::uint32_t id) {
    if (std::find(texts_seen_.begin(), texts_seen_.end(), id) != texts_seen_.end())
        return false;
    if (texts_seen_.size() >= kRememberedTexts)
        texts_seen_.erase(texts_seen_.begin());
    texts_seen_.push_back(id);
    return true;
}

void DirectPath::restart(const proto::PeerInfo& info, Time now, PathOutput& out) {
    if (exchanges_.size() >= cfg_.max_exchanges)
        exchanges_.erase(exchanges_.begin());
    exchanges_.push_back(now);
    last_active_ = now;
    punch_probes_left_ = cfg_.max_punch_probes;
    if (info.nonce != nonce_) {
        previous_nonce_ = nonce_;
        nonce_ = info.nonce;
    }
    initiator_ = info.initiator;
    candidates_.clear();
    for (const auto& e : info.private_endpoints)
        add_candidate(e, Kind::Private);
    add_candidate(info.public_endpoint, Kind::Public);
    if (!is_direct(now)) {
        selected_.reset();
        selected_kind_.reset();
        selected_at_.reset();
    }
    const bool was_punching = punching(now);
    punch_until_ = now + cfg_.punch_for;
    next_probe_ = now;
    next_retry_.reset();
    // Background retries go unannounced, and so does a fresh exchange while punching.
    if (!is_direct(now) && !announced_relayed_ && !was_punching)
        out.events.push_back({remote_, PathState::Punching, std::nullopt, std::nullopt, ""});
    on_tick(now, out);
}

bool DirectPath::accepts(std::string_view nonce) const {
    return nonce == nonce_ || (!previous_nonce_.empty() && nonce == previous_nonce_);
}

void DirectPath::add_candidate(const proto::Endpoint& e, Kind kind) {
    if (!is_probeable(e, kind == Kind::Private, cfg_.allow_loopback))
        return;
    const auto of_kind = std::count_if(candidates_.begin(), candidates_.end(),
                                       [kind](const Candidate& c) { return c.kind == kind; });
    const std::size_t limit = kind == Kind::Private  ? proto::kMaxPrivateEndpoints
                              : kind == Kind::Public ? 1
                                                     : kMaxReflexive;
    if (static_cast<std::size_t>(of_kind) >= limit)
        return;
    const bool known = std::any_of(candidates_.begin(), candidates_.end(),
                                   [&e](const Candidate& c) { return c.endpoint == e; });
    if (!known)
        candidates_.push_back({e, kind});
}

int DirectPath::rank(Kind kind) {
    return kind == Kind::Private ? 2 : 1;
} // LAN first

DirectPath::Kind DirectPath::kind_of(const proto::Endpoint& e) const {
    for (const auto& c : candidates_)
        if (c.endpoint == e)
            return c.kind;
    return Kind::Reflexive;
}

void DirectPath::send_probe(const proto::Endpoint& to, Time now, PathOutput& out) {
    const std::uint32_t seq = next_seq_++;
    out.datagrams.emplace_back(to, proto::encode(proto::Probe{self_, nonce_, seq}));
    if (in_flight_.size() >= kMaxInFlight)
        in_flight_.erase(in_flight_.begin());
    in_flight_.push_back({seq, to, now});
}

void DirectPath::on_probe(const proto::Endpoint& from, const proto::Probe& m, Time now,
                          PathOutput& out) {
    // Answer where it came from, even an address we did not know: behind a NAT that maps
    // each destination to a new port, that source is the only address that reaches the peer.
    out.datagrams.emplace_back(from, proto::encode(proto::ProbeAck{self_, m.nonce, m.seq, from}));
    const bool known = std::any_of(candidates_.begin(), candidates_.end(),
                                   [&from](const Candidate& c) { return c.endpoint == from; });
    last_active_ = now;
    if (!known) {
        const auto before = candidates_.size();
        add_candidate(from, Kind::Reflexive);
        if (punching(now) && candidates_.size() > before && punch_probes_left_ > 0) {
            --punch_probes_left_;
            send_probe(from, now, out);
        }
    }
    if (selected_ == from)
        last_heard_ = now;
    if (!punching(now) && !is_direct(now)) { // the remote is punching: join in
        punch_until_ = now + cfg_.punch_for;
        next_probe_ = now;
        on_tick(now, out);
    }
}

void DirectPath::on_probe_ack(const proto::Endpoint& from, const proto::ProbeAck& m, Time now,
                              PathOutput& out) {
    const auto sent = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const SentProbe& p) {
        return p.seq == m.seq && p.to == from;
    });
    if (sent == in_flight_.end())
        return; // not an answer to a probe we sent there
    const Duration sample = now - sent->at;
    rtt_ = rtt_ ? (*rtt_ * 7 + sample) / 8 : sample; // RFC 6298's smoothing, alpha 1/8
    in_flight_.erase(sent);
    last_active_ = now;
    select(from, kind_of(from), now, out);
}

void DirectPath::on_heard(const proto::Endpoint& from, Time now) {
    last_active_ = now;
    if (selected_ == from)
        last_heard_ = now;
}

void DirectPath::select(const proto::Endpoint& e, Kind kind, Time now, PathOutput& out) {
    const bool was_direct = is_direct(now);
    const bool better =
        !selected_ || !was_direct || (*selected_ != e && rank(kind) > rank(*selected_kind_));
    if (selected_ == e || better)
        last_heard_ = now;
    if (!better)
        return;
    selected_ = e;
    selected_kind_ = kind;
    if (!selected_at_ || !was_direct)
        selected_at_ = now;
    next_keepalive_ = now + cfg_.keepalive_every;
    next_retry_.reset();
    announced_relayed_ = false;
    out.events.push_back({remote_, PathState::Direct, e, rtt_, ""});
    if (kind == Kind::Private)
        end_punching(now, out);
}

bool DirectPath::punching(Time now) const {
    return punch_until_ && now < *punch_until_;
}

void DirectPath::end_punching(Time now, PathOutput& out) {
    punch_until_.reset();
    next_probe_.reset();
    if (is_direct(now))
        return;
    if (!announced_relayed_) {
        out.events.push_back({remote_, PathState::Relayed, std::nullopt, std::nullopt,
                              "no direct path found (a NAT in the way does not allow it)"});
        announced_relayed_ = true;
    }
    if (initiator_)
        next_retry_ = now + cfg_.retry_every;
}

void DirectPath::on_tick(Time now, PathOutput& out) {
    if (punch_until_) {
        const bool settled =
            selected_at_ && is_direct(now) && now >= *selected_at_ + cfg_.settle_for;
        if (now >= *punch_until_ || settled) {
            end_punching(now, out);
        } else if (next_probe_ && now >= *next_probe_) {
            for (const auto& c : candidates_) {
                if (punch_probes_left_ == 0)
                    break;
                --punch_probes_left_;
                send_probe(c.endpoint, now, out);
            }
            // Out of probes: wait for answers to those sent until punch_until_.
            next_probe_ =
                punch_probes_left_ > 0 ? std::optional{now + cfg_.probe_every} : std::nullopt;
        }
    }
    if (selected_ && last_heard_ && !is_direct(now)) { // the direct path went silent
        selected_.reset();
        selected_kind_.reset();
        selected_at_.reset();
        next_keepalive_.reset();
        out.events.push_back(
            {remote_, PathState::Relayed, std::nullopt, std::nullopt, "direct path went silent"});
        announced_relayed_ = true;
        if (initiator_) {
            out.wants_exchange = remote_; // punch again at once, both sides together
            next_retry_ = now + cfg_.retry_every;
        }
    }
    if (selected_ && next_keepalive_ && now >= *next_keepalive_) {
        send_probe(*selected_, now, out);
        next_keepalive_ = now + cfg_.keepalive_every;
    }
    if (next_retry_ && now >= *next_retry_ && !punch_until_) {
        out.wants_exchange = remote_;
        next_retry_ = now + cfg_.retry_every;
    }
}

std::optional<Time> DirectPath::next_wakeup() const {
    std::optional<Time> wake;
    auto consider = [&wake](std::optional<Time> t) {
        if (t && (!wake || *t < *wake))
            wake = t;
    };
    if (punch_until_) {
        consider(punch_until_);
        consider(next_probe_);
        if (selected_at_)
            consider(*selected_at_ + cfg_.settle_for);
    }
    if (selected_) {
        consider(next_keepalive_);
        if (last_heard_)
            consider(*last_heard_ + cfg_.dead_after);
    }
    consider(next_retry_);
    return wake;
}

PathState DirectPath::state(Time now) const {
    if (selected_ && last_heard_ && now - *last_heard_ < cfg_.dead_after)
        return PathState::Direct;
    if (punch_until_ && now < *punch_until_)
        return PathState::Punching;
    return PathState::Relayed;
}

} // namespace chat::peer
