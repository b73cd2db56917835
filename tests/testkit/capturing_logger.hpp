// A Logger that keeps every line (at every level) so tests can assert on what was logged.
#pragma once

#include "proto/logger.hpp"

#include <string>
#include <vector>

namespace chat::testkit {

class CapturingLogger final : public Logger {
public:
    struct Line {
        LogLevel level;
        std::string text;
    };
    bool enabled(LogLevel) const override { return true; }
    void write(LogLevel level, std::string_view line) override {
        lines_.push_back({level, std::string(line)});
    }
    const std::vector<Line>& lines() const { return lines_; }
    bool contains(std::string_view needle) const {
        for (const auto& l : lines_)
            if (l.text.find(needle) != std::string::npos) return true;
        return false;
    }

private:
    std::vector<Line> lines_;
};

} // namespace chat::testkit
