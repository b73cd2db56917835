// SystemRng: getrandom(2) from the kernel's CSPRNG; see rng.hpp.
#include "rng.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>

namespace chat {

std::uint64_t SystemRng::next_u64() {
    std::uint64_t v = 0;
    auto* p = reinterpret_cast<unsigned char*>(&v);
    std::size_t got = 0;
    while (got < sizeof v) {
        const auto n = getrandom(p + got, sizeof v - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            std::abort(); // no entropy source: tokens would be guessable, refuse to go on
        }
        got += static_cast<std::size_t>(n);
    }
    return v;
}

} // namespace chat
