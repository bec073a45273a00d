// status.hpp — errors are values (architecture.md decision 6). Library code never aborts or
// exits; it returns Status / Result<T>, and the CLI turns the message into one line.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace uce {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }
  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string& message() const { return message_; }
  const Status& status() const { return *this; }  // lets UCE_TRY take a Status or a Result

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  static Result error(std::string message) { return Result(Status::error(std::move(message))); }
  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return value_.has_value(); }
  const std::string& message() const { return status_.message(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T take() { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace uce

// Propagate an error Status/Result from an expression.
#define UCE_TRY(expr)                                   \
  do {                                                  \
    auto uce_try_status_ = (expr);                      \
    if (!uce_try_status_) return uce_try_status_.status(); \
  } while (0)
