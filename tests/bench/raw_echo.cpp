// raw_echo: the ping baseline. Every datagram goes straight back to its source, read with
// recvmmsg and answered with sendmmsg, nothing else: the most a one-thread UDP server on
// this kernel can do, measured in the same shapes as the rendezvous.
#include "raw_server.hpp"

int main(int argc, char** argv) {
    using namespace chat::bench;
    RawServer s = start_raw_server(argc, argv, "raw_echo");
    BatchSocket& sock = *s.socket;
    while (!s.stopping()) {
        const std::size_t n = sock.receive(100);
        for (std::size_t i = 0; i < n; ++i) sock.add(sock.at(i).from, sock.at(i).bytes);
        sock.flush();
    }
    return 0;
}
