// start_server; see server_process.hpp.
#include "server_process.hpp"

#include <charconv>
#include <stdexcept>

namespace chat::e2e {

ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{"--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    ServerProcess s{std::make_unique<Process>(path, argv), 0};
    const auto line = s.process->read_line(timeout);
    constexpr std::string_view kPrefix = "listening on 127.0.0.1:";
    if (!line || !line->starts_with(kPrefix)) {
        const int status = s.process->stop();
        throw std::runtime_error(path + " did not announce its port: " +
                                 (line ? "printed \"" + *line + "\"" : "printed nothing") + ", " +
                                 describe_status(status));
    }
    const std::string_view digits = std::string_view(*line).substr(kPrefix.size());
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535) {
        s.process->stop();
        throw std::runtime_error(path + " announced a bad port: \"" + *line + "\"");
    }
    s.port = static_cast<std::uint16_t>(value);
    return s;
}

} // namespace chat::e2e
