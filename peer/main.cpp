// peer: parses options into a ShellConfig, picks the UI mode, and runs the shell.
// A bad option is a usage message on stderr and exit 2; a start-up failure one line and 1.
#include "file_logger.hpp"
#include "host_port.hpp"
#include "shell.hpp"

#include "proto/validate.hpp"

#include <cxxopts.hpp>
#include <uv.h>

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace {

using namespace chat;

struct Options {
    peer::ShellConfig shell;
    std::string log_file;
};

[[noreturn]] void usage_error(const std::string& what, const cxxopts::Options& spec) {
    std::cerr << "peer: " << what << "\n" << spec.help() << std::flush;
    std::exit(2);
}

bool no_color_env() {
    const char* v = std::getenv("NO_COLOR"); // https://no-color.org: set and not empty
    return v != nullptr && v[0] != '\0';
}

Options parse_options(int argc, char** argv) {
    cxxopts::Options spec("peer", "udpchat peer: chat in rooms and directly, through a "
                                  "rendezvous server. Type /help once connected.");
    // clang-format off
    spec.add_options()
        ("rendezvous", "the server, HOST:PORT (a DNS name, 192.0.2.1:7777 or [2001:db8::1]:7777)",
         cxxopts::value<std::string>())
        ("name", "your name: 1-32 letters, digits, '_', '.' or '-'", cxxopts::value<std::string>())
        ("room", "the room to talk in first (you are always in lobby too)",
         cxxopts::value<std::string>()->default_value("lobby"))
        ("bind", "local ADDR:PORT for the UDP socket (default: any address, a free port)",
         cxxopts::value<std::string>())
        ("json", "machine mode: commands on stdin, one JSON event per line on stdout "
                 "(see peer/JSON_EVENTS.md)")
        ("no-color", "no colours (also when NO_COLOR is set)")
        ("log-file", "append a log to FILE (nothing is logged otherwise)",
         cxxopts::value<std::string>())
        ("connect-timeout", "at start-up, give up (exit 1) after SECONDS without an answer from "
                            "the rendezvous; hello is retried meanwhile",
         cxxopts::value<double>()->default_value("30"), "SECONDS")
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
        std::cout << "peer " << CHAT_VERSION << "\n";
        std::exit(0);
    }
    if (!r.unmatched().empty())
        usage_error("unexpected argument " + r.unmatched().front(), spec);
    if (r.count("rendezvous") == 0)
        usage_error("--rendezvous HOST:PORT is required", spec);
    if (r.count("name") == 0)
        usage_error("--name NAME is required", spec);

    Options o;
    const auto rdv = r["rendezvous"].as<std::string>();
    const auto hp = peer::parse_host_port(rdv);
    if (!hp)
        usage_error("--rendezvous \"" + rdv +
                        "\" is not HOST:PORT (e.g. chat.example.org:7777, 192.0.2.1:7777 or "
                        "[::1]:7777)",
                    spec);
    o.shell.rendezvous = *hp;
    o.shell.name = r["name"].as<std::string>();
    if (!proto::is_valid_name(o.shell.name))
        usage_error("--name \"" + proto::sanitized_sample(o.shell.name) +
                        "\" rejected: " + std::string(proto::kNameRule),
                    spec);
    o.shell.room = r["room"].as<std::string>();
    if (!proto::is_valid_name(o.shell.room))
        usage_error("--room \"" + proto::sanitized_sample(o.shell.room) +
                        "\" rejected: " + std::string(proto::kNameRule),
                    spec);
    if (r.count("bind") != 0) {
        const auto b = r["bind"].as<std::string>();
        o.shell.bind = proto::Endpoint::parse(b);
        if (!o.shell.bind)
            usage_error("--bind \"" + b + "\" is not ADDR:PORT (e.g. 0.0.0.0:0 or [::]:5000)",
                        spec);
    }
    if (r.count("log-file") != 0)
        o.log_file = r["log-file"].as<std::string>();
    const double connect_s = r["connect-timeout"].as<double>();
    if (!std::isfinite(connect_s) || connect_s < 1 || connect_s > 3600)
        usage_error("--connect-timeout " + std::to_string(connect_s) +
                        " is out of range: use 1 to 3600 seconds",
                    spec);
    o.shell.connect_timeout = Duration{static_cast<std::int64_t>(std::llround(connect_s * 1000.0))};

    const bool interactive = ::isatty(0) == 1 && ::isatty(1) == 1;
    o.shell.mode = r.count("json") != 0 ? peer::UiMode::Json
                   : interactive        ? peer::UiMode::Terminal
                                        : peer::UiMode::Pipe;
    o.shell.color =
        o.shell.mode == peer::UiMode::Terminal && r.count("no-color") == 0 && !no_color_env();
    return o;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    std::unique_ptr<Logger> log;
    try {
        if (o.log_file.empty())
            log = std::make_unique<NullLogger>();
        else
            log = std::make_unique<peer::FileLogger>(o.log_file, LogLevel::Info);
    } catch (const std::exception& e) {
        std::cerr << "peer: " << e.what() << "\n";
        return 1;
    }
    // A reader that goes away must not kill us mid-goodbye; writes then just fail.
    std::signal(SIGPIPE, SIG_IGN);
    if (o.shell.mode == peer::UiMode::Terminal)
        std::atexit([] { uv_tty_reset_mode(); }); // for exit paths that skip destructors
    peer::Shell shell(o.shell, *log);
    return shell.run();
}
