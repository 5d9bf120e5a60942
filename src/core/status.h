#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace loom {

// The one closed set of error codes (after Abseil's). server/ maps each to an HTTP status and
// problem type, cli/ to an exit code; modules never pick either.
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // bad input: a descriptor, an event, an address, a SQL text
  kNotFound,            // no such thing (or the caller may not know it exists)
  kAlreadyExists,       // create of something that exists
  kFailedPrecondition,  // the state does not allow it (immutable version, closed log)
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // no or bad credentials
  kResourceExhausted,   // a limit was hit (size, quota, disk full)
  kAborted,             // a conflict; retrying the whole operation may succeed
  kUnavailable,         // a dependency is down; retry later
  kDataLoss,            // corruption detected: checksums, torn files
  kDeadlineExceeded,
  kCancelled,
  kUnimplemented,
  kInternal,  // a bug or an unexpected library failure
};

std::string_view StatusCodeName(StatusCode code);
// The inverse of StatusCodeName ("NotFound" -> kNotFound); none for an unknown name.
std::optional<StatusCode> StatusCodeFromName(std::string_view name);

// Status is the result of an operation that returns no value: OK, or a code and a message that
// says what was wrong and where. Cheap to copy when OK (no allocation). Thread-compatible.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  const std::string& message() const;
  // "NotFound: no product 'x'", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "prefix: message" (for adding where an error happened).
  Status WithPrefix(std::string_view prefix) const;

  bool operator==(const Status& other) const {
    return code() == other.code() && message() == other.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;  // shared by copies of one error; immutable
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status PermissionDenied(std::string message);
Status Unauthenticated(std::string message);
Status ResourceExhausted(std::string message);
Status Aborted(std::string message);
Status Unavailable(std::string message);
Status DataLoss(std::string message);
Status DeadlineExceeded(std::string message);
Status Cancelled(std::string message);
Status Unimplemented(std::string message);
Status Internal(std::string message);

// Result<T> holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, std::string_view msg);

}  // namespace loom

#define LOOM_CONCAT_INNER(a, b) a##b
#define LOOM_CONCAT(a, b) LOOM_CONCAT_INNER(a, b)

#define LOOM_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::loom::Status loom_status_ = (expr);        \
    if (!loom_status_.ok()) return loom_status_; \
  } while (0)

#define LOOM_ASSIGN_OR_RETURN(lhs, expr) \
  LOOM_ASSIGN_OR_RETURN_IMPL(LOOM_CONCAT(loom_result_, __LINE__), lhs, expr)
// `lhs` may be a declaration, so it cannot be parenthesised; `tmp` is a name.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LOOM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// An invariant that no input can break; on in every build.
#define LOOM_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::loom::CheckFailed(__FILE__, __LINE__, #cond, (msg)))
