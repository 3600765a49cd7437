// Error values for I/O and CLI boundaries: a failure carries one line a user can act on.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace qforge {

struct Error {
  std::string message;  // one line: "<file>: <what is wrong>"
};

// Holds either a value or an Error. Deliberately small: the subset of std::expected we use.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Expected(Error error) : state_(std::move(error)) {}    // NOLINT
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Success or an Error, for operations with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT
  static Status Ok() { return {}; }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

inline Error MakeError(std::string message) { return Error{std::move(message)}; }

}  // namespace qforge

// Propagate a failed Status/Expected out of the current function.
#define QF_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    auto qf_status_ = (expr);                    \
    if (!qf_status_.ok()) return qf_status_.error(); \
  } while (0)
