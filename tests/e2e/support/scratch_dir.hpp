// A scratch directory for one test's files (peer logs, a server's stderr): made under the
// system's temporary directory, removed when the test passed, kept and named on stdout when
// it failed, so the logs are there as evidence.
#pragma once

#include <filesystem>
#include <string>

namespace chat::e2e {

class ScratchDir {
  public:
    ScratchDir(); // throws std::runtime_error if it cannot be made
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir();

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// The whole of a (small) text file; empty if it cannot be read.
std::string read_text_file(const std::string& path);

} // namespace chat::e2e
