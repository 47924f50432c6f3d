// Result<T>: a value or an Error, returned across every fallible path instead of exceptions
// (guest- and tenant-facing code must never throw).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace bulwark {

class Error {
 public:
  explicit Error(std::string message, int errno_value = 0)
      : message_(std::move(message)), errno_value_(errno_value) {}
  // "what: strerror(errno_value)"; the errno value is kept (errno_value()).
  static Error from_errno(const std::string& what, int errno_value);
  const std::string& message() const { return message_; }
  // The errno of the failed call behind this error, 0 when there is none. Lets a process's
  // top level tell "a host resource ran out" (EMFILE, ENOMEM, ...) from bad input.
  int errno_value() const { return errno_value_; }
  // Prefixes context, e.g. Error("bad magic").wrap("kernel image") -> "kernel image: bad magic".
  Error wrap(const std::string& context) const { return Error(context + ": " + message_, errno_value_); }

 private:
  std::string message_;
  int errno_value_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace bulwark

// Propagates an error from an expression returning Result<...> / Status.
#define BULWARK_TRY(expr)                          \
  do {                                             \
    auto&& bulwark_try_result_ = (expr);           \
    if (!bulwark_try_result_.ok())                 \
      return bulwark_try_result_.error();          \
  } while (0)
