// What the two baseline servers share: options (--listen 127.0.0.1:PORT, --max-seconds S),
// the "listening on" line the rendezvous prints too, and a stop on SIGINT/SIGTERM or after
// max-seconds, so a forgotten baseline never outlives its benchmark.
#pragma once

#include "batch_socket.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

namespace chat::bench {

inline volatile std::sig_atomic_t g_stop = 0;

struct RawServer {
    std::unique_ptr<BatchSocket> socket;
    std::time_t deadline = 0;
    bool stopping() const { return g_stop != 0 || std::time(nullptr) >= deadline; }
};

inline RawServer start_raw_server(int argc, char** argv, const char* name) {
    Addr listen{kLoopback, 0};
    double max_seconds = 600;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--listen" && i + 1 < argc) {
            if (!parse_loopback(argv[++i], listen)) {
                std::fprintf(stderr, "%s: --listen %s: use a loopback ADDR:PORT\n", name, argv[i]);
                std::exit(2);
            }
        } else if (a == "--max-seconds" && i + 1 < argc) {
            max_seconds = std::atof(argv[++i]);
        } else {
            std::fprintf(stderr,
                         "usage: %s [--listen 127.0.0.1:PORT] [--max-seconds S]\n"
                         "A benchmark baseline, not part of udpchat. Stops on SIGINT/SIGTERM or "
                         "after max-seconds (default 600).\n",
                         name);
            std::exit(a == "--help" || a == "-h" ? 0 : 2);
        }
    }
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    RawServer s;
    s.socket = std::make_unique<BatchSocket>(listen.ip, listen.port, false);
    (void)s.socket->raise_buffers(4 << 20);  // what the rendezvous shell asks for
    s.deadline = std::time(nullptr) + static_cast<std::time_t>(max_seconds);
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(s.socket->port()));
    std::fflush(stdout);
    return s;
}

} // namespace chat::bench
