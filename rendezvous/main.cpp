// rendezvous: parses options into a ServerConfig and a ShellConfig, binds, runs the shell.
// A bad option or a failed bind is one line on stderr and a non-zero exit.
#include "shell.hpp"
#include "stderr_logger.hpp"

#include <cxxopts.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace {

using namespace chat;

struct Options {
    rdv::ShellConfig shell;
    rdv::ServerConfig server;
    LogLevel log_level = LogLevel::Info;
};

[[noreturn]] void usage_error(const std::string& what, const cxxopts::Options& spec) {
    std::cerr << "rendezvous: " << what << "\n" << spec.help() << std::flush;
    std::exit(2);
}

Duration seconds_option(const cxxopts::ParseResult& r, const char* key, double min, double max,
                        const cxxopts::Options& spec) {
    const double s = r[key].as<double>();
    if (!std::isfinite(s) || s < min || s > max)
        usage_error("--" + std::string(key) + " " + std::to_string(s) + " is out of range: use " +
                        std::to_string(min) + " to " + std::to_string(max) + " seconds",
                    spec);
    return Duration{static_cast<std::int64_t>(std::llround(s * 1000.0))};
}

Options parse_options(int argc, char** argv) {
    cxxopts::Options spec("rendezvous",
                          "udpchat rendezvous server: tracks peers by heartbeat, relays rooms "
                          "and direct messages, swaps endpoints for hole punching.");
    // clang-format off
    spec.add_options()
        ("listen", "address and port to bind, e.g. 0.0.0.0:7777 or [::]:7777",
         cxxopts::value<std::string>()->default_value("0.0.0.0:7777"))
        ("timeout", "evict a peer silent this many seconds (peers heartbeat at half of it)",
         cxxopts::value<double>()->default_value("10"))
        ("max-peers", "most registered peers at once",
         cxxopts::value<std::size_t>()->default_value("100000"))
        ("max-sessions-per-host", "sessions from one IPv4 address or IPv6 /64",
         cxxopts::value<std::uint32_t>()->default_value("1000"))
        ("max-sessions-per-net", "sessions from one IPv4 /24 or IPv6 /48",
         cxxopts::value<std::uint32_t>()->default_value("4000"))
        ("max-rooms-per-host", "rooms created from one IPv4 address or IPv6 /64 (while they exist)",
         cxxopts::value<std::uint32_t>()->default_value("100"))
        ("max-rooms-per-net", "rooms created from one IPv4 /24 or IPv6 /48",
         cxxopts::value<std::uint32_t>()->default_value("400"))
        ("max-joins-per-host", "room memberships beyond the lobby from one IPv4 address or IPv6 /64",
         cxxopts::value<std::uint32_t>()->default_value("4000"))
        ("max-joins-per-net", "room memberships beyond the lobby from one IPv4 /24 or IPv6 /48",
         cxxopts::value<std::uint32_t>()->default_value("16000"))
        ("allow-plaintext", "accept legacy plain-text clients (unverified addresses)")
        ("session-rate", "datagrams per second each session may send, burst 50 (raise it only "
         "for load tests, e.g. scripts/bench, where few addresses send a lot)",
         cxxopts::value<double>()->default_value("20"))
        ("stats-interval", "seconds between stats lines, 0 for none",
         cxxopts::value<double>()->default_value("60"))
        ("log-level", "debug, info, warn, error or off",
         cxxopts::value<std::string>()->default_value("info"))
        ("h,help", "print this help and exit")
        ("version", "print the version and exit");
    // clang-format on
    cxxopts::ParseResult r;
    try {
        r = spec.parse(argc, argv);
    } catch (const cxxopts::exceptions::exception& e) {
        usage_error(e.what(), spec);
    }
    if (r.count("help") != 0) {
        std::cout << spec.help();
        std::exit(0);
    }
    if (r.count("version") != 0) {
        std::cout << "rendezvous " << CHAT_VERSION << "\n";
        std::exit(0);
    }
    if (!r.unmatched().empty())
        usage_error("unexpected argument " + r.unmatched().front(), spec);
    Options o;
    const auto listen = proto::Endpoint::parse(r["listen"].as<std::string>());
    if (!listen)
        usage_error("--listen " + r["listen"].as<std::string>() +
                        " is not ADDR:PORT (e.g. 0.0.0.0:7777 or [::]:7777)",
                    spec);
    o.shell.listen = *listen;
    o.server.timeout = seconds_option(r, "timeout", 0.5, 3600, spec);
    o.server.max_peers = r["max-peers"].as<std::size_t>();
    if (o.server.max_peers < 1 || o.server.max_peers > 10'000'000)
        usage_error("--max-peers must be between 1 and 10000000", spec);
    const auto share = [&](const char* name) {
        const auto v = r[name].as<std::uint32_t>();
        if (v < 1 || v > 10'000'000)
            usage_error(std::string("--") + name + " must be between 1 and 10000000", spec);
        return v;
    };
    o.server.net_caps.sessions_per_host = share("max-sessions-per-host");
    o.server.net_caps.sessions_per_net = share("max-sessions-per-net");
    o.server.net_caps.rooms_per_host = share("max-rooms-per-host");
    o.server.net_caps.rooms_per_net = share("max-rooms-per-net");
    o.server.net_caps.joins_per_host = share("max-joins-per-host");
    o.server.net_caps.joins_per_net = share("max-joins-per-net");
    o.server.allow_plaintext = r.count("allow-plaintext") != 0;
    o.server.session_datagrams_per_second = r["session-rate"].as<double>();
    if (!std::isfinite(o.server.session_datagrams_per_second) ||
        o.server.session_datagrams_per_second < 1 ||
        o.server.session_datagrams_per_second > 1e9)
        usage_error("--session-rate must be between 1 and 1000000000 datagrams per second", spec);
    o.server.stats_every = r["stats-interval"].as<double>() == 0
                               ? Duration::zero()
                               : seconds_option(r, "stats-interval", 1, 86400, spec);
    const auto level = parse_log_level(r["log-level"].as<std::string>());
    if (!level)
        usage_error("--log-level must be debug, info, warn, error or off", spec);
    o.log_level = *level;
    return o;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    rdv::StderrLogger log(o.log_level);
    try {
        rdv::Shell shell(o.shell, o.server, log);
        const auto bound = shell.bind();
        std::printf("listening on %s\n", bound.to_string().c_str());
        std::fflush(stdout);
        log.info("listening addr=" + bound.to_string() +
                 " timeout=" + std::to_string(o.server.timeout.count()) +
                 "ms max_peers=" + std::to_string(o.server.max_peers) +
                 " plaintext=" + (o.server.allow_plaintext ? "on" : "off"));
        return shell.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rendezvous: cannot listen on %s: %s\n",
                     o.shell.listen.to_string().c_str(), e.what());
        return 1;
    }
}
