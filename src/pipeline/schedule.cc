// Schedules of batch pipelines: on-input, hourly, daily, monthly, or 5-field cron (UTC).

#include <ctime>

#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

constexpr int64_t kMinute = 60'000'000;

struct CronField {
  std::set<int> values;
};

Result<CronField> ParseField(const std::string& text, int lo, int hi, const std::string& what) {
  CronField f;
  size_t start = 0;
  auto bad = [&] {
    return InvalidArgument("schedule: cron " + what + " '" + text + "' (expected *, */N, N, A-B " +
                           "or a list, within " + std::to_string(lo) + ".." + std::to_string(hi) +
                           ")");
  };
  auto number = [&](const std::string& s, int* out) {
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *out = std::stoi(s);
    return *out >= lo && *out <= hi;
  };
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int step = 1, a = lo, b = hi;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      std::string n = part.substr(slash + 1);
      if (n.empty() || n.size() > 2 || n.find_first_not_of("0123456789") != std::string::npos) {
        return bad();
      }
      step = std::stoi(n);
      if (step <= 0) return bad();
      part = part.substr(0, slash);
    }
    if (part != "*") {
      if (size_t dash = part.find('-'); dash != std::string::npos) {
        if (!number(part.substr(0, dash), &a) || !number(part.substr(dash + 1), &b) || a > b) {
          return bad();
        }
      } else {
        if (!number(part, &a)) return bad();
        b = a;
      }
    }
    for (int v = a; v <= b; v += step) f.values.insert(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (f.values.empty()) return bad();
  return f;
}

struct Cron {
  CronField minute, hour, dom, month, dow;
  bool dom_any = true, dow_any = true;
  bool Matches(const std::tm& t) const {
    if (!minute.values.count(t.tm_min) || !hour.values.count(t.tm_hour) ||
        !month.values.count(t.tm_mon + 1)) {
      return false;
    }
    bool d1 = dom.values.count(t.tm_mday) > 0, d2 = dow.values.count(t.tm_wday) > 0;
    // As in cron: when both day fields are restricted, either may match.
    if (!dom_any && !dow_any) return d1 || d2;
    return d1 && d2;
  }
};

Result<Cron> ParseCron(const std::string& text) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = text.find(' ', i);
    if (i < text.size())
      parts.push_back(text.substr(i, j == std::string::npos ? std::string::npos : j - i));
    i = j == std::string::npos ? text.size() : j;
  }
  if (parts.size() != 5) {
    return InvalidArgument("schedule '" + text +
                           "': expected on-input, hourly, daily, monthly or 5 cron fields "
                           "(minute hour day-of-month month day-of-week)");
  }
  Cron c;
  LOOM_ASSIGN_OR_RETURN(c.minute, ParseField(parts[0], 0, 59, "minute"));
  LOOM_ASSIGN_OR_RETURN(c.hour, ParseField(parts[1], 0, 23, "hour"));
  LOOM_ASSIGN_OR_RETURN(c.dom, ParseField(parts[2], 1, 31, "day of month"));
  LOOM_ASSIGN_OR_RETURN(c.month, ParseField(parts[3], 1, 12, "month"));
  LOOM_ASSIGN_OR_RETURN(c.dow, ParseField(parts[4] == "7" ? "0" : parts[4], 0, 6, "day of week"));
  c.dom_any = parts[2] == "*";
  c.dow_any = parts[4] == "*";
  return c;
}

std::tm Utc(TimestampMicros t) {
  std::time_t s = static_cast<std::time_t>(t / 1'000'000);
  std::tm out{};
  gmtime_r(&s, &out);
  return out;
}

}  // namespace

Status ValidateSchedule(const std::string& schedule) {
  if (schedule.empty() || schedule == "on-input" || schedule == "hourly" || schedule == "daily" ||
      schedule == "monthly") {
    return Status::Ok();
  }
  return ParseCron(schedule).status();
}

Result<bool> ScheduleDue(const std::string& schedule, std::optional<TimestampMicros> last,
                         TimestampMicros now) {
  if (schedule.empty() || schedule == "on-input") return false;
  if (!last) return true;
  std::tm a = Utc(*last), b = Utc(now);
  if (schedule == "hourly") return *last / (60 * kMinute) != now / (60 * kMinute);
  if (schedule == "daily") return a.tm_yday != b.tm_yday || a.tm_year != b.tm_year;
  if (schedule == "monthly") return a.tm_mon != b.tm_mon || a.tm_year != b.tm_year;
  LOOM_ASSIGN_OR_RETURN(Cron cron, ParseCron(schedule));
  // Due when a matching minute lies in (last, now]; looked at minute by minute, at most a year.
  TimestampMicros t = (*last / kMinute + 1) * kMinute;
  TimestampMicros stop = std::min<TimestampMicros>(now, t + 366LL * 24 * 60 * kMinute);
  for (; t <= stop; t += kMinute) {
    if (cron.Matches(Utc(t))) return true;
  }
  return false;
}

}  // namespace loom::pipeline
