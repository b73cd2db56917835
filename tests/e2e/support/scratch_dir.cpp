// ScratchDir; see scratch_dir.hpp. Whether the test failed is asked of GoogleTest, which
// every e2e binary links.
#include "scratch_dir.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace chat::e2e {

ScratchDir::ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "udpchat-e2e-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
}

ScratchDir::~ScratchDir() {
    if (::testing::Test::HasFailure()) {
        std::printf("logs kept in %s\n", path_.c_str());
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace chat::e2e
