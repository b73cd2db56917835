// Outbox: the datagrams one call of the Server asks its shell to send, in order. Their bytes
// sit back to back in one buffer and each entry holds its destination and a slice of it, so
// a line fanned out to 1,000 members is two growing buffers, not 1,000 heap strings (each
// member's copy differs only in its delivery id, so it cannot be one shared string either).
// A Datagram is a view: valid while the Outbox lives and gets no more datagrams.
#pragma once

#include "proto/endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::rdv {

struct Datagram {
    proto::Endpoint to;
    std::string_view bytes;
};

class Outbox {
  public:
    void add(const proto::Endpoint& to, std::string_view bytes) {
        add_written(to, [bytes](std::string& buffer) { buffer.append(bytes); });
    }
    // A datagram whose bytes `write(std::string&)` appends to the shared buffer (a member's
    // copy of a line, spliced as it is written).
    template <typename Write> void add_written(const proto::Endpoint& to, Write&& write) {
        const std::size_t offset = bytes_.size();
        write(bytes_);
        entries_.push_back(Entry{to, static_cast<std::uint32_t>(offset),
                                 static_cast<std::uint32_t>(bytes_.size() - offset)});
    }
    // Room for `count` more datagrams of `bytes` in all (a fan-out knows both).
    void reserve(std::size_t count, std::size_t bytes) {
        entries_.reserve(entries_.size() + count);
        bytes_.reserve(bytes_.size() + bytes);
    }

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::size_t total_bytes() const { return bytes_.size(); }
    Datagram operator[](std::size_t i) const {
        const Entry& e = entries_[i];
        return Datagram{e.to, std::string_view(bytes_).substr(e.offset, e.size)};
    }

    class Iterator {
      public:
        using value_type = Datagram;
        using difference_type = std::ptrdiff_t;
        Iterator() = default;
        Iterator(const Outbox* out, std::size_t i) : out_(out), i_(i) {}
        Datagram operator*() const { return (*out_)[i_]; }
        Iterator& operator++() {
            ++i_;
            return *this;
        }
        Iterator operator++(int) {
            Iterator was = *this;
            ++i_;
            return was;
        }
        friend bool operator==(const Iterator& a, const Iterator& b) { return a.i_ == b.i_; }

      private:
        const Outbox* out_ = nullptr;
        std::size_t i_ = 0;
    };
    Iterator begin() const { return Iterator(this, 0); }
    Iterator end() const { return Iterator(this, entries_.size()); }

  private:
    struct Entry {
        proto::Endpoint to;
        std::uint32_t offset; // into bytes_
        std::uint32_t size;
    };
    std::vector<Entry> entries_;
    std::string bytes_;
};

} // namespace chat::rdv
