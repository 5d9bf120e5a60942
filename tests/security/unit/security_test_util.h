#pragma once

// Helpers shared by the security/ tests: a settable clock and Result checks.

#include <atomic>

#include <gtest/gtest.h>

#include "core/core.h"

namespace loom::security::testing {

// A clock the test moves by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimestampMicros now = 1'780'000'000'000'000) : now_(now) {}
  TimestampMicros NowMicros() const override { return now_.load(); }
  void Set(TimestampMicros t) { now_.store(t); }
  void AdvanceSeconds(int64_t s) { now_.fetch_add(s * 1'000'000); }
  int64_t Seconds() const { return now_.load() / 1'000'000; }

 private:
  std::atomic<TimestampMicros> now_;
};

}  // namespace loom::security::testing

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    ::loom::Status assert_ok_status_ = (expr);                           \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_.ToString(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(LOOM_CONCAT(assert_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
