#pragma once

// strobe::Status and strobe::Result<T>: the error type of the control plane (config load,
// pipeline build, exporter connect, admin API). The data plane never uses them: hot paths
// return bool or drop-and-count (STYLE.md section 5).
//
// Codes follow the canonical set of absl::Status / gRPC. A Status is cheap to move; an OK
// status holds no allocation. Result<T> is a small stand-in for C++23 std::expected.
//
// Thread class: thread-compatible (a value type).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strobe {

enum class StatusCode : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Returns the canonical upper-snake name of `code`, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: pipeline 'x' has no exporters", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "`prefix`: <message>"; OK stays OK.
  Status WithContext(std::string_view prefix) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return {}; }
Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status ResourceExhausted(std::string message);
Status OutOfRange(std::string message);
Status Unavailable(std::string message);
Status Internal(std::string message);
Status Unimplemented(std::string message);
Status DeadlineExceeded(std::string message);
Status PermissionDenied(std::string message);
Status Unauthenticated(std::string message);
Status DataLoss(std::string message);

// Holds either a T or a non-OK Status. Accessing value() of an error Result is a bug and
// aborts (STROBE_CHECK), as is constructing a Result from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    CheckNotOk();
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  // The error; OkStatus() when this holds a value.
  Status status() const { return ok() ? OkStatus() : std::get<Status>(data_); }

  T& value() & {
    CheckOk();
    return std::get<T>(data_);
  }
  const T& value() const& {
    CheckOk();
    return std::get<T>(data_);
  }
  T&& value() && {
    CheckOk();
    return std::get<T>(std::move(data_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void CheckOk() const;
  void CheckNotOk() const;
  std::variant<T, Status> data_;
};

namespace internal {
[[noreturn]] void ResultAccessFailed(const Status& status);
[[noreturn]] void ResultFromOkStatus();
}  // namespace internal

template <typename T>
void Result<T>::CheckOk() const {
  if (!ok()) internal::ResultAccessFailed(std::get<Status>(data_));
}

template <typename T>
void Result<T>::CheckNotOk() const {
  if (std::get<Status>(data_).ok()) internal::ResultFromOkStatus();
}

}  // namespace strobe

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define STROBE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::strobe::Status strobe_status_ = (expr);        \
    if (!strobe_status_.ok()) return strobe_status_; \
  } while (false)

#define STROBE_CONCAT_INNER_(a, b) a##b
#define STROBE_CONCAT_(a, b) STROBE_CONCAT_INNER_(a, b)

// `STROBE_ASSIGN_OR_RETURN(auto x, MakeX());` — binds the value or returns the error.
#define STROBE_ASSIGN_OR_RETURN(lhs, expr) \
  STROBE_ASSIGN_OR_RETURN_IMPL_(STROBE_CONCAT_(strobe_result_, __LINE__), lhs, expr)
#define STROBE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
