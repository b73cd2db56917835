// The client side of the rendezvous's address validation and heartbeats, for tests that talk
// to the real server with a bare UdpClient: a hello that earns a retry is sent again with its
// cookie (as peer/registration.cpp does), and a session's heartbeat carries its tag. One copy
// here, so every e2e test follows the wire as the real peer does; the peer's own code is not
// used, so a test that drives the server this way checks the protocol, not our client.
#pragma once

#include "udp_client.hpp"

#include "proto/message.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace chat::e2e {

struct HelloTries {
    int sends = 1;                        // hellos sent before giving up on silence
    std::chrono::milliseconds wait{3000}; // for an answer to each
    int retries = 2;                      // retry{cookie} answered before giving up
};

// Sends `hello` (its cookie, if any, is ignored) from `socket` to 127.0.0.1:`port` and
// follows the address-validation step: a retry is answered at once by the same hello with its
// cookie. Returns the first answer that is neither a retry nor anything listed below (a
// welcome, an error), or nullopt if none comes. Every other datagram that arrives meanwhile
// (room notices, pongs, undecodable bytes) goes to `other`, and so does each retry, so a
// caller that must see every byte it was sent can.
std::optional<proto::Message>
hello_with_cookie(UdpClient& socket, std::uint16_t port, proto::Hello hello,
                  const HelloTries& tries = {},
                  const std::function<void(const std::string&)>& other = {});

// A session's heartbeat: "#ping#" and the session's tag (proto/heartbeat_tag.hpp).
std::string heartbeat(const proto::Token& token);

} // namespace chat::e2e
