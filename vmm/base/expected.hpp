// Expected<T, E>: a value or an error, for guest-caused failures that are not exceptional.
// C++20 has no std::expected; this keeps std's member names so it can be swapped later.
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace minivmm {

template<typename E>
struct Unexpected {
    // A constructor, not an aggregate: clang 14 (the fuzz build) has no parenthesized aggregate
    // initialization (P0960), which `Unexpected(value)` needs.
    explicit Unexpected(E value) : error(std::move(value)) {}
    E error;
};
template<typename E>
Unexpected(E) -> Unexpected<E>;

template<typename T, typename E>
class [[nodiscard]] Expected {
public:
    Expected(T value) : m_storage(std::in_place_index<0>, std::move(value)) {}
    template<typename G>
    Expected(Unexpected<G> error) : m_storage(std::in_place_index<1>, E(std::move(error.error)))
    {
    }

    [[nodiscard]] bool has_value() const { return m_storage.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() { assert(has_value()); return std::get<0>(m_storage); }
    const T& value() const { assert(has_value()); return std::get<0>(m_storage); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const E& error() const { assert(!has_value()); return std::get<1>(m_storage); }

private:
    std::variant<T, E> m_storage;
};

// Expected<void, E>: success with no value, or an error (an operation that either worked or
// says why not). Default-constructed means success.
template<typename E>
class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    template<typename G>
    Expected(Unexpected<G> error) : m_error(E(std::move(error.error)))
    {
    }

    [[nodiscard]] bool has_value() const { return !m_error.has_value(); }
    explicit operator bool() const { return has_value(); }
    void value() const { assert(has_value()); }
    const E& error() const { assert(!has_value()); return *m_error; }

private:
    std::optional<E> m_error;
};

} // namespace minivmm
