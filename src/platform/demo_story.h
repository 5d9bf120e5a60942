#pragma once

// The story `loom demo` prints: numbered steps, indented lines, and the time each step took
// (private to platform/). Not thread-safe.

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

namespace loom::platform::demo {

class Story {
 public:
  explicit Story(std::FILE* out) : out_(out) {}

  // Closes the open step (printing its time) and opens the next one.
  void Step(const std::string& title) {
    Finish();
    ++step_;
    std::fprintf(out_, "\n[%d] %s\n", step_, title.c_str());
    std::fflush(out_);
    started_ = std::chrono::steady_clock::now();
    open_ = true;
  }
  void Line(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    std::va_list args;
    va_start(args, fmt);
    std::fputs("    ", out_);
    std::vfprintf(out_, fmt, args);
    std::fputc('\n', out_);
    va_end(args);
  }
  // Every line of `text`, the first prefixed with `first`, the others indented to match.
  void Block(std::string_view first, std::string_view text) {
    std::string pad(first.size(), ' ');
    bool head = true;
    for (size_t at = 0; at < text.size();) {
      size_t nl = text.find('\n', at);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(at, nl - at);
      std::fprintf(out_, "    %s%.*s\n", head ? std::string(first).c_str() : pad.c_str(),
                   static_cast<int>(line.size()), line.data());
      head = false;
      at = nl + 1;
    }
  }
  // Prints the open step's time.
  void Finish() {
    if (!open_) return;
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (secs < 1) {
      std::fprintf(out_, "    (%.0f ms)\n", secs * 1000);
    } else {
      std::fprintf(out_, "    (%.2f s)\n", secs);
    }
    std::fflush(out_);
    open_ = false;
  }

 private:
  std::FILE* out_;
  int step_ = 0;
  bool open_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace loom::platform::demo
