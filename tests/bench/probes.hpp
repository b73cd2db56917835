// What the load generator reads about the server process and its socket from /proc, and
// its own CPU time: user and system seconds (to tell what limits a row), resident memory,
// and the kernel's drop counter for a UDP port. Linux only; each returns zeros if the
// file cannot be read (a server that already exited).
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chat::bench {

// The whole of a small /proc file ("" if it cannot be read). Plain read(2): /proc files
// report size 0, and iostreams trip -Wnull-dereference in GCC 12's headers at -O2.
inline std::string read_proc(const std::string& path) {
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

// Whitespace-separated fields of one line.
inline std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> v;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) v.push_back(line.substr(start, i - start));
    }
    return v;
}

inline std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    (void)std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

struct CpuTimes {
    double user = 0;  // seconds
    double sys = 0;
    CpuTimes operator-(const CpuTimes& o) const { return {user - o.user, sys - o.sys}; }
};

inline CpuTimes process_cpu(int pid) {
    const std::string all = read_proc("/proc/" + std::to_string(pid) + "/stat");
    const auto close = all.rfind(')');
    if (close == std::string::npos) return {};
    const auto f = fields(std::string_view(all).substr(close + 1));
    if (f.size() < 13) return {};
    // After the command: field 3 (state) is f[0], so utime (14) is f[11], stime (15) f[12].
    const auto hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {static_cast<double>(to_u64(f[11])) / hz, static_cast<double>(to_u64(f[12])) / hz};
}

inline CpuTimes self_cpu() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return {sec(ru.ru_utime), sec(ru.ru_stime)};
}

inline std::int64_t rss_kib(int pid) {  // VmRSS from /proc/PID/status
    const std::string all = read_proc("/proc/" + std::to_string(pid) + "/status");
    const auto at = all.find("VmRSS:");
    if (at == std::string::npos) return 0;
    const auto f = fields(std::string_view(all).substr(at + 6, 40));
    return f.empty() ? 0 : static_cast<std::int64_t>(to_u64(f[0]));
}

// Datagrams the kernel dropped for the UDP socket(s) bound to local `port` (the last column
// of /proc/net/udp): a full receive buffer shows up here and nowhere else.
inline std::uint64_t udp_drops(std::uint16_t port) {
    const std::string all = read_proc("/proc/net/udp");
    char want[8];
    std::snprintf(want, sizeof want, ":%04X", static_cast<unsigned>(port));
    std::uint64_t drops = 0;
    std::string_view rest(all);
    bool header = true;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const auto line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (std::exchange(header, false)) continue;
        const auto f = fields(line);
        if (f.size() < 2 || !f[1].ends_with(want)) continue;
        drops += to_u64(f.back());
    }
    return drops;
}

} // namespace chat::bench
