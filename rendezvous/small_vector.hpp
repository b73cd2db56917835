// SmallVector<T, N>: a vector that keeps up to N elements inline and moves to the heap only
// beyond that, for trivially copyable T. A peer's rooms live in one: nearly every peer is in
// one or two rooms, so this costs 16 bytes and no allocation, where a std::vector costs 24
// bytes and one allocation. Only what the peer table needs: push_back, an order-keeping
// erase, iteration.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace chat::rdv {

template <typename T, std::size_t N> class SmallVector {
    static_assert(std::is_trivially_copyable_v<T> && N > 0);

  public:
    SmallVector() = default;
    SmallVector(const SmallVector& o) { assign(o); }
    SmallVector(SmallVector&& o) noexcept { steal(o); }
    SmallVector& operator=(const SmallVector& o) {
        if (this != &o) {
            clear();
            assign(o);
        }
        return *this;
    }
    SmallVector& operator=(SmallVector&& o) noexcept {
        if (this != &o) {
            release();
            steal(o);
        }
        return *this;
    }
    ~SmallVector() { release(); }

    T* begin() { return data(); }
    T* end() { return data() + size_; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }

    void push_back(const T& v) {
        if (size_ == capacity_)
            grow(2 * std::size_t{capacity_});
        data()[size_++] = v;
    }
    // Removes the first element equal to `v`, keeping the order of the rest; false if none.
    bool erase(const T& v) {
        T* it = std::find(begin(), end(), v);
        if (it == end())
            return false;
        std::copy(it + 1, end(), it);
        --size_;
        return true;
    }
    void clear() { size_ = 0; }

  private:
    bool on_heap() const { return capacity_ > N; }
    T* data() { return on_heap() ? heap_ : inline_; }
    const T* data() const { return on_heap() ? heap_ : inline_; }
    void grow(std::size_t capacity) {
        T* bigger = new T[capacity];
        std::copy(begin(), end(), bigger);
        release();
        heap_ = bigger;
        capacity_ = static_cast<std::uint32_t>(capacity);
    }
    void release() {
        if (on_heap())
            delete[] heap_;
        capacity_ = N;
    }
    void assign(const SmallVector& o) { // *this is empty
        if (o.size_ > capacity_)
            grow(o.size_);
        std::copy(o.begin(), o.end(), data());
        size_ = o.size_;
    }
    void steal(SmallVector& o) { // *this holds nothing
        if (o.on_heap())
            heap_ = o.heap_;
        else
            std::copy(o.begin(), o.end(), inline_);
        size_ = o.size_;
        capacity_ = o.capacity_;
        o.size_ = 0;
        o.capacity_ = N;
    }

    union {
        T inline_[N];
        T* heap_;
    };
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = N; // > N: the elements are on the heap
};

} // namespace chat::rdv
