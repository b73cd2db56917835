// JsonPeerProcess; see json_peer_process.hpp.
#include "json_peer_process.hpp"

#include <thread>

namespace chat::e2e {

namespace {
using Clock = std::chrono::steady_clock;
} // namespace

std::string json_string(const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool json_flag(const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_boolean() && it->get<bool>();
}

JsonPeerProcess::JsonPeerProcess(const std::string& peer_bin, std::uint16_t server_port,
                                 std::string name, const std::vector<std::string>& extra,
                                 const std::string& log_file)
    : name_(std::move(name)) {
    std::vector<std::string> args{"--rendezvous", "127.0.0.1:" + std::to_string(server_port),
                                  "--name", name_, "--json"};
    if (!log_file.empty()) {
        args.emplace_back("--log-file");
        args.push_back(log_file);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Process>(peer_bin, args, Stdin::Pipe);
}

std::size_t JsonPeerProcess::pump() {
    std::size_t n = 0;
    while (const auto line = proc_->read_line(std::chrono::milliseconds(0))) {
        ++n;
        raw_.push_back(*line);
        Json j = Json::parse(*line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            non_json_.push_back(*line);
        else
            events_.push_back(std::move(j));
    }
    return n;
}

std::optional<JsonPeerProcess::Json> JsonPeerProcess::wait_for(std::string_view kind,
                                                               const Match& match,
                                                               std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        pump();
        for (; cursor_ < events_.size(); ++cursor_) {
            const Json& e = events_[cursor_];
            const auto it = e.find("event");
            if (it != e.end() && it->is_string() && *it == kind && (!match || match(e)))
                return events_[cursor_++];
        }
        if (Clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string JsonPeerProcess::transcript(std::size_t n) const {
    std::string s = "\n" + name_ + " printed " + std::to_string(raw_.size()) + " lines";
    const std::size_t from = raw_.size() > n ? raw_.size() - n : 0;
    s += from > 0 ? ", the last " + std::to_string(n) + ":" : ":";
    for (std::size_t i = from; i < raw_.size(); ++i)
        s += "\n  " + name_ + "| " + raw_[i];
    return s;
}

bool pump_until(const std::vector<JsonPeerProcess*>& peers, const std::function<bool()>& done,
                std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        for (auto* p : peers)
            p->pump();
        if (done())
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace chat::e2e
